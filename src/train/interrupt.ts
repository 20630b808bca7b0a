// Ctrl-C during training: the first one stops the run before its next batch and writes a
// checkpoint there (running the same command again resumes from that batch, to exactly the
// result of an uninterrupted run); a second one exits at once, and the last checkpoint written
// (an epoch's end, or an earlier interruption) stays.
export async function withInterruptHandling<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error(
      '\nstopping after this batch and checkpointing it; the same command resumes from there (press Ctrl-C again to quit at once)...',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
