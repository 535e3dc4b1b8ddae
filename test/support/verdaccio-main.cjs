// Runs a Verdaccio registry for a test, in its own process: node verdaccio-main.cjs <config.yaml>.
// Listens on a random loopback port and prints {"port":N} once it accepts connections.
const { runServer } = require("verdaccio");

runServer(process.argv[2]).then((server) => {
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}, (err) => {
  process.stderr.write(`verdaccio failed to start: ${err && err.stack}\n`);
  process.exit(1);
});
