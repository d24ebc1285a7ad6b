/**
 * `eval "$(npm run -s runbook:env)"`: the variables docs/runbook.md uses,
 * for the local stack `npm run dev` is running (recorded in .muninn/, ports
 * included). In staging or production, export the same names from your
 * secret store.
 */
import { answers, fail, readLocalStack, stateDir } from "./operator-env";

const local = readLocalStack();
if (!local) fail("runbook:env", `no local stack recorded in ${stateDir()}: start one with \`npm run dev\``);
if (!(await answers(`${local.info.baseUrl}/health`))) {
  fail("runbook:env", `the local stack recorded in ${stateDir()} is not running: start it with \`npm run dev\``);
}
const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
for (const [name, value] of Object.entries(local.vars)) console.log(`export ${name}=${quote(value)}`);
