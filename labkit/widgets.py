"""Interactive explorers for the labs: change a setting, press Run, see the explanation.

::

    import labkit
    labkit.widgets.explorer("lime", models=["mobilenet"], images={"cat": cat},
                            num_samples=300)

Settings that need the model (model, image, the method's parameters, seed) take
effect only when **Run** is pressed; the run shows a progress bar fed by the
explainer's batches. Display settings (colormap, opacity, LIME's superpixel choice)
redraw at once from the last explanation without calling the model. Explanations are
cached per (model, image, method, parameters, seed): running the same settings again
is instant.
"""
import html
import io

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import plots
from ._checks import check_image, renamed
from .explainers import RENAMED, explain, get_explainer
from .models import Classifier, conv_layer_names, load_model

#: Choices of a colour ``baseline`` (pixel space); "custom" uses the colour picker.
HIDE_COLORS = {"mean (None)": None, "black": 0, "grey": 128, "white": 255, "custom": None}
#: "auto": labkit.plots' choice, diverging and centred at zero for signed maps (LIME).
COLORMAPS = ("auto", "jet", "viridis", "inferno", "magma", "coolwarm", "gray")
SUPERPIXELS = ("for the class", "against the class", "both")
_WIDE = {"description_width": "initial"}
_CACHE_SIZE = 32


def explorer(method="lime", models=("efficientnet_lite0",), images=None, **defaults):
    """An interactive explorer of one explanation method, ready to display.

    Parameters
    ----------
    method : str
        Any registered method (``labkit.list_methods()``); its controls come from its
        record (``labkit.explainers.get_explainer(method).params``).
    models : sequence of str or Classifier
        Registered names (loaded on first use with :func:`labkit.load_model`) or
        already loaded classifiers.
    images : dict name -> ndarray (H, W, 3), or one ndarray
        RGB pixels in [0, 255].
    **defaults
        Initial values of the controls, by name: ``model``, ``image``, ``seed`` (stochastic
        methods only), every parameter the record shows (LIME ``num_samples``,
        ``n_segments``, ``baseline`` (a label of :data:`HIDE_COLORS` or a colour); RISE
        ``num_masks``, ``grid_size``, ``p1``; Grad-CAM / FEM ``layer``, FEM ``k``...);
        superpixel methods ``num_features``, ``superpixels`` (one of :data:`SUPERPIXELS`),
        ``hide_rest``; always ``cmap`` and ``alpha``.

    Returns
    -------
    Explorer
    """
    return Explorer(method, models, images, **defaults)


class Explorer(widgets.HBox):
    """Controls on the left; the rendered explanation and a status line on the right.

    Attributes
    ----------
    controls : dict name -> widget
        Every control, by the names :func:`explorer` accepts as defaults.
    run_button, progress, status, view
        The Run button, the IntProgress bar, the HTML status line, and the Image
        widget holding the rendered PNG.
    explanation : Explanation or None
        The one on display.

    Grad-CAM and FEM explorers load the selected model at once, to list its layers;
    the others load it on the first Run.
    """

    def __init__(self, method, models, images, **defaults):
        self.record = get_explainer(method)
        self.method = method
        self._models = _label_models(models)
        self._images = _label_images(images)
        self._cache = {}
        self.explanation = None

        expensive = {
            "model": widgets.Dropdown(options=list(self._models), description="model"),
            "image": widgets.Dropdown(options=list(self._images), description="image"),
            **_method_controls(self.record),
        }
        if self.record.stochastic:  # deterministic methods have no seed to show
            expensive["seed"] = widgets.IntText(value=0, description="seed", style=_WIDE)
        display = {
            **(_lime_display() if self.record.superpixels else {}),
            "cmap": widgets.Dropdown(options=COLORMAPS, description="colormap"),
            "alpha": widgets.FloatSlider(value=0.5, min=0, max=1, step=0.05,
                                         description="opacity"),
        }
        self.controls = {**expensive, **display}
        if "layer" in self.controls:
            self._update_layers()
            self.controls["model"].observe(self._update_layers, "value")
        self._set_defaults(renamed(defaults, RENAMED, f"the {method} explorer"))

        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="Explain with these settings")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = widgets.HTML("Press <b>Run</b> to explain.")
        # Hidden until the first Run: an Image without bytes shows a broken-image icon.
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="720px",
                                                                      display="none"))
        self.run_button.on_click(self.run)
        for control in expensive.values():
            control.observe(self._mark_stale, "value")
        for control in display.values():
            control.observe(self._render, "value")

        left = widgets.VBox([widgets.HTML("<b>Explanation</b> (press Run)"), *expensive.values(),
                             self.run_button, self.progress,
                             widgets.HTML("<b>Display</b>"), *display.values()],
                            layout=widgets.Layout(min_width="320px"))
        super().__init__([left, widgets.VBox([self.view, self.status])])

    # -- what Run computes -------------------------------------------------------------
    def params(self):
        """The method parameters the controls currently set (without the seed)."""
        c, params = self.controls, {}
        for p in self.record.params:
            if p.widget is None:  # not shown: the explainer's default
                continue
            value = c[p.name].value
            if p.kind == "color":
                value = (_hex_to_rgb(c["custom_color"].value) if value == "custom"
                         else HIDE_COLORS[value])
            params[p.name] = value
        return params

    def run(self, _button=None):
        """Explain with the current settings (from the cache when they were run before)."""
        c = self.controls
        params = self.params()
        seed = c["seed"].value if "seed" in c else 0
        key = (c["model"].value, c["image"].value, self.method, tuple(sorted(params.items())), seed)
        cached = key in self._cache
        if not cached:
            self.run_button.disabled = True
            self.status.value = "Running…"
            try:
                explanation = explain(self.model(), self._images[c["image"].value], self.method,
                                      seed=seed, progress=self._on_progress, **params)
            except (ValueError, TypeError) as err:  # labkit's messages for bad settings
                self.status.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
                return
            finally:
                self.run_button.disabled = False
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = explanation
        self.explanation = self._cache[key]
        self.progress.value = self.progress.max
        e = self.explanation
        self.status.value = (f"<b>{html.escape(e.target_name)}</b> (p = {e.probability:.3f}) · "
                             f"{e.method} on {html.escape(e.model_name)} · {e.seconds:.2f} s"
                             + (" · from cache" if cached else ""))
        self._render()

    def model(self):
        """The selected Classifier, loaded on first use."""
        label = self.controls["model"].value
        if isinstance(self._models[label], str):
            self._models[label] = load_model(self._models[label])
        return self._models[label]

    # -- callbacks -----------------------------------------------------------------------
    def _on_progress(self, done, total):
        self.progress.max = max(total, 1)
        self.progress.value = done

    def _mark_stale(self, _change=None):
        if self.explanation is not None:
            self.status.value = "Settings changed: press <b>Run</b> to explain again."

    def _render(self, _change=None):
        """Draw the current explanation into ``view`` as PNG bytes, without the model."""
        if self.explanation is None:
            return
        c, e = self.controls, self.explanation
        cmap = None if c["cmap"].value == "auto" else c["cmap"].value
        fig = Figure(figsize=(9.5, 4.2), layout="constrained")
        left, right = fig.subplots(1, 2)
        plots.overlay(e, c["alpha"].value, cmap=cmap, ax=left)
        if "superpixels" in c:
            choice = c["superpixels"].value
            plots.lime_boundaries(e, num_features=c["num_features"].value,
                                  positive_only=choice == SUPERPIXELS[0],
                                  negative_only=choice == SUPERPIXELS[1],
                                  hide_rest=c["hide_rest"].value, ax=right)
        else:
            plots.heatmap(e, ax=right, cmap=cmap)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72)
        self.view.value = buffer.getvalue()
        self.view.layout.display = None

    def _update_layers(self, _change=None):
        # CAM layers depend on the model: offer its last convolutional layers.
        model = self.model()
        names = conv_layer_names(model.model)[-6:]
        if model.layer and model.layer not in names:
            names.append(model.layer)
        layer = self.controls["layer"]
        layer.options = names
        layer.value = model.layer if model.layer in names else names[-1]

    def _set_defaults(self, defaults):
        unknown = sorted(set(defaults) - set(self.controls))
        if unknown:
            raise TypeError(f"the {self.method} explorer has no control {unknown[0]!r}; "
                            f"its controls are {sorted(self.controls)}.")
        for name, value in defaults.items():
            colour = any(p.name == name and p.kind == "color" for p in self.record.params)
            if colour and value not in HIDE_COLORS:
                value = _hide_color_label(value, self.controls["custom_color"])
            self.controls[name].value = value


# -- per-method controls -------------------------------------------------------------
def _method_controls(record):
    """The explorer's controls for every parameter the record shows (``Param.widget``)."""
    controls = {}
    for p in record.params:
        if p.widget is None:
            continue
        default, label = record.defaults[p.name], p.label or p.name
        if p.kind == "color":
            controls.update(_color_controls(p, label, default))
        elif p.kind == "layer":  # filled from the model by Explorer._update_layers
            controls[p.name] = widgets.Dropdown(description=label)
        elif p.kind == "choice":
            controls[p.name] = widgets.Dropdown(options=p.choices, value=default,
                                                description=label, style=_WIDE)
        elif p.widget[0] == "count":
            controls[p.name] = widgets.BoundedIntText(
                value=default, min=p.low, max=p.limit or p.high or 100_000, description=label,
                style=_WIDE)
        else:
            _, low, high, step = p.widget
            slider = widgets.IntSlider if p.kind == "int" else widgets.FloatSlider
            controls[p.name] = slider(value=default, min=low, max=high, step=step,
                                      description=label, style=_WIDE)
    return controls


def _color_controls(param, label, default):
    picker = widgets.ColorPicker(value="#ff00ff", description="custom colour", style=_WIDE)
    # "mean (None)" only where None means something; start at the method's default
    options = [k for k, v in HIDE_COLORS.items() if v is not None or k == "custom" or param.none_ok]
    choice = widgets.Dropdown(options=options, value=_hide_color_label(default, picker),
                              description=label, style=_WIDE)
    picker.disabled = choice.value != "custom"
    choice.observe(lambda change: setattr(picker, "disabled", change["new"] != "custom"), "value")
    return {param.name: choice, "custom_color": picker}


def _lime_display():
    return {"num_features": widgets.IntSlider(value=5, min=1, max=30, description="features shown",
                                              style=_WIDE),
            "superpixels": widgets.RadioButtons(options=SUPERPIXELS, description="superpixels"),
            "hide_rest": widgets.Checkbox(value=False, description="hide the rest")}


# -- helpers -------------------------------------------------------------------------
def _label_models(models):
    if isinstance(models, (str, Classifier)):
        models = [models]
    labelled = {}
    for model in models:
        if not isinstance(model, (str, Classifier)):
            raise TypeError(f"models must be names or labkit Classifiers, got {model!r}.")
        name = model if isinstance(model, str) else model.name
        label, n = name, 2
        while label in labelled:  # two classifiers may share a name (e.g. random weights)
            label, n = f"{name} ({n})", n + 1
        labelled[label] = model
    if not labelled:
        raise ValueError("models is empty: pass at least one model name or Classifier.")
    return labelled


def _label_images(images):
    if images is None:
        raise ValueError("give images={name: array}, e.g. {'cat': labkit.sample_image('chelsea')}.")
    if isinstance(images, np.ndarray):
        images = {"image": images}
    if not images:
        raise ValueError("images is empty: pass at least one {name: array}.")
    for name, image in images.items():
        check_image(image, name=f"image {name!r}")
    return dict(images)


def _hex_to_rgb(color):
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


def _hide_color_label(value, picker):
    """Map a colour baseline value (grey level or RGB) to a dropdown label, using the picker."""
    if value is None:
        return "mean (None)"
    for label, level in HIDE_COLORS.items():
        if level is not None and np.isscalar(value) and value == level:
            return label
    rgb = np.broadcast_to(np.asarray(value, dtype=float), (3,))
    if not np.all((rgb >= 0) & (rgb <= 255)):
        raise ValueError(f"baseline must be one of {list(HIDE_COLORS)}, a grey level or an "
                         f"RGB triple in [0, 255], got {value!r}.")
    picker.value = "#" + "".join(f"{int(round(v)):02x}" for v in rgb)
    return "custom"


__all__ = ["COLORMAPS", "Explorer", "HIDE_COLORS", "SUPERPIXELS", "explorer"]
