/**
 * The environment of a child process the engine starts (the sandbox, the timeout locator, the type
 * checker): the host's, without NODE_OPTIONS. A child gets none but the flags it is started with:
 * process-wide V8 flags show up inside every isolate a child runs, a host's `--inspect` would make
 * each child claim the same port, and a host's `--max-old-space-size` could lift a child's heap
 * limit.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}
