"""Image files as bytes and pixels, knowing nothing of annotation formats.

* :mod:`.headers` - sizes and EXIF orientation from file headers (no decoding);
* :mod:`.decode` - EXIF-corrected grayscale pixels, pixel and perceptual hashes,
  thumbnails, and :func:`~.decode.scan` over many files;
* :mod:`.duplicates` - byte-identical, pixel-identical and near-duplicate groups, from
  plain arrays (keys, paths, sizes) and a scan frame.

Only :mod:`fracatlas_annot.runtime` and :mod:`fracatlas_annot.errors` sit below it; the
callers (formats, checks, convert, report) turn their tables into these arrays.
"""
