"""Tools built on the pipeline: IR diffs, differential checking, fuzzing and reducing programs."""
