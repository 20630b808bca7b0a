// Ctrl-C during training: the first one stops the run at the next batch (the last completed
// epoch's checkpoint stays on disk, and running the same command again resumes from it); a
// second one exits at once.
export async function withInterruptHandling<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('\nstopping after this batch (press Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
