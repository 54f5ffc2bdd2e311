"""What every stage shares, below everything else (only ``errors`` and ``model`` sit beside it).

* :mod:`.progress` - the progress-callback protocol (the rich bar lives in ``commands/``);
* :mod:`.parallel` - the one parallel map and its one worker policy (the distributed backend plugs in here);
* :mod:`.atomic` - atomic file and folder writes, output-target checks;
* :mod:`.jsonsafe` - JSON-safe values (numpy, pandas, NaN);
* :mod:`.suggest` - "did you mean" hints.

Nothing here imports another part of the package except ``errors``.
"""
