/**
 * The environment of a child process that runs isolates (the sandbox, the timeout locator): the
 * host's, without NODE_OPTIONS. Process-wide V8 flags show up inside every isolate, so such a
 * child gets none but the flags it is started with.
 */
export function isolateChildEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}
