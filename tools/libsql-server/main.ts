/**
 * `npm run libsql`: run the local libSQL server in the foreground.
 *
 *   LIBSQL_PORT        default 8080
 *   LIBSQL_DATA_DIR    default .muninn/libsql
 *   LIBSQL_AUTH_TOKEN  optional; when set, clients and the Platform API need it
 *   LIBSQL_EXIT_WITH_STDIN  set by a parent process (child.ts): stop when stdin closes
 */
import { fail, portFromEnv } from "../operator-env.js";
import { startLibsqlServer } from "./server.js";

const server = await startLibsqlServer({
  port: portFromEnv("libsql", "LIBSQL_PORT", 8080),
  dataDir: process.env.LIBSQL_DATA_DIR ?? ".muninn/libsql",
  authToken: process.env.LIBSQL_AUTH_TOKEN || undefined,
  log: process.env.LIBSQL_LOG_REQUESTS
    ? (line) => console.error(line)
    : (line) => {
        // Request lines are noise by default; internal errors are always worth seeing.
        if (line.startsWith("libsql-server:")) console.error(line);
      },
}).catch((error: Error) => fail("libsql", `${error.message} (LIBSQL_PORT chooses another port)`));
console.log(`libSQL server listening on ${server.url} (database URL: ${server.url}/<name>/)`);

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, stop);
if (process.env.LIBSQL_EXIT_WITH_STDIN) {
  process.stdin.on("close", stop).on("end", stop).resume();
}
