"""A C2SP tlog-witness: cosigns a log's checkpoints once it has checked the log only grew."""
