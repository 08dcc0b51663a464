package raftport

// The errors of the snapshot API, for errors.Is in callers: a snapshot
// is refused with ErrSnapInProgress while another is being made and with
// ErrCatchupsRunning while followers are being caught up;
// ErrNoSnapAvailable says there is no snapshot to load, ErrSnapshotCorrupt
// that a snapshot file failed its check (when loaded or at startup), and
// ErrSnapAborted that a checkpoint was aborted.
var ErrNoSnapAvailable, ErrSnapInProgress, ErrSnapAborted, ErrCatchupsRunning, ErrSnapshotCorrupt = errNoSnapAvailable, errSnapInProgress, errSnapAborted, errCatchupsRunning, errSnapshotCorrupt
