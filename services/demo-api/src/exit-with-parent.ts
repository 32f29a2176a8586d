/**
 * Preloaded (`--import`) into `evictd run` when the demo starts it: the parent holds this child's
 * stdin open and never writes to it, so its end means the parent is gone (even after a SIGKILL).
 * The child then stops the way Ctrl-C would stop it (SIGTERM: flush, acknowledge, exit), leaving no
 * orphan. The handle is unref'd so it never keeps a finished process alive.
 */
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
(process.stdin as unknown as { unref?: () => void }).unref?.();
