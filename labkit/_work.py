"""How long loops run: progress reporting and the BLAS thread budget, shared by the
explainers and the metrics (the lowest layer that uses them)."""


def track(batches, progress, desc):
    """Iterate over ``batches`` (a sized iterable), reporting progress as ``explain`` says.

    False: silent; True: a tqdm bar; a callable: ``progress(done, total)`` before the
    first batch and after each one.
    """
    if callable(progress):
        return _report(batches, progress)
    if progress:
        from tqdm.auto import tqdm
        return tqdm(batches, desc=desc, unit="batch", leave=False)
    return batches


def _report(batches, callback):
    total = len(batches)
    callback(0, total)
    for done, batch in enumerate(batches, 1):
        yield batch
        callback(done, total)


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread: for loops that alternate model
    calls with numpy work.

    The model's runtime (OpenVINO or TensorFlow) uses every core. OpenBLAS threads keep
    spinning for a while after a numpy product, waiting for more work, and take those
    cores from the next model call: on the 2-core course machines RISE took 1.3x its
    inference time with the default BLAS threads and 1.05x with one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
