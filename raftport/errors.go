package raftport

// The errors of the snapshot API, for errors.Is in callers.

// ErrNoSnapAvailable says there is no snapshot to load.
var ErrNoSnapAvailable = errNoSnapAvailable

// ErrSnapInProgress refuses a snapshot while another is being made.
var ErrSnapInProgress = errSnapInProgress

// ErrSnapAborted says a checkpoint was aborted or superseded.
var ErrSnapAborted = errSnapAborted

// ErrCatchupsRunning refuses a snapshot while followers are being caught up.
var ErrCatchupsRunning = errCatchupsRunning

// ErrSnapshotCorrupt says a snapshot file failed its check, when loaded or
// at startup.
var ErrSnapshotCorrupt = errSnapshotCorrupt
