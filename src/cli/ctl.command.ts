/**
 * `kalshiflow ctl pause|resume|cancel-all|flatten [--ticker T] [--url URL] [--token T] [--json]`:
 * steers a running `kalshiflow start` from a terminal or a script through its operator API
 * (`POST /v3/control/<action>`). Prints the one-line answer (what it did, or why it could not);
 * exit 0 when applied, 1 when refused or unreachable, 2 for a usage error.
 */
import { UsageError } from '../app/errors.ts';
import { isMarketTicker, MARKET_TICKER_RULE } from '../core/tickers.ts';
import { CONTROL_ACTIONS, type ControlAction } from '../actors/system-view.ts';
import { parseFlags } from './flags.ts';

export const CTL_HELP = `usage: kalshiflow ctl pause|resume|cancel-all|flatten [--ticker T] [--url URL] [--token TOKEN] [--json]

  pause       hold the trader paused (reason \`operator\`); its resting orders are cancelled
  resume      end the operator's pause (a pause the system imposed, e.g. a database outage, ends on its own)
  cancel-all  cancel the trader's resting orders (the strategy may quote again: pause to stop it)
  flatten     pause, cancel, and close each position with one marketable order within the risk limits

  --ticker    one market only (cancel-all, flatten)
  --url       the operator API (default http://127.0.0.1:$V3_PORT, port 8005)
  --token     the API token (default $V3_AUTH_TOKEN)
  --json      print the whole answer as JSON`;

const FLAGS = {
  ticker: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runCtlCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, fetchImpl: typeof fetch = fetch): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  if (values.help) {
    console.log(CTL_HELP);
    return 0;
  }
  const [action, ...extra] = positionals;
  if (!action) throw new UsageError(`which control? one of ${CONTROL_ACTIONS.join(', ')} (see --help)`);
  if (!CONTROL_ACTIONS.includes(action as ControlAction)) throw new UsageError(`unknown control ${JSON.stringify(action)}: one of ${CONTROL_ACTIONS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} (see --help)`);
  if (values.ticker !== undefined) {
    if (action === 'pause' || action === 'resume') throw new UsageError(`--ticker: ${action} applies to the whole trader`);
    if (!isMarketTicker(values.ticker)) throw new UsageError(`--ticker: ${MARKET_TICKER_RULE} (got ${JSON.stringify(String(values.ticker).slice(0, 40))})`);
  }
  const port = env.V3_PORT ?? '8005';
  let base: URL;
  try {
    base = new URL(values.url ?? `http://127.0.0.1:${port}`);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--url: not an http(s) URL (got ${JSON.stringify(values.url)})`);
  }
  const token = values.token ?? env.V3_AUTH_TOKEN;
  const target = new URL(`/v3/control/${action}`, base);
  let res: Response;
  try {
    res = await fetchImpl(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(values.ticker !== undefined ? { ticker: values.ticker } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const why = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    console.error(`kalshiflow ctl: cannot reach ${base.origin} (${why}); is \`kalshiflow start\` running there?`);
    return 1;
  }
  let body: { message?: string; applied?: boolean; error?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // a proxy's HTML page, say: the status line below still says what happened
  }
  if (values.json) console.log(JSON.stringify(body, null, 2));
  if (res.status === 401) {
    console.error(`kalshiflow ctl: ${base.origin} needs the API token: --token or V3_AUTH_TOKEN`);
    return 1;
  }
  if (res.ok && body.applied) {
    if (!values.json) console.log(`${action}: ${body.message ?? 'done'}`);
    return 0;
  }
  console.error(`kalshiflow ctl: ${body.message ?? body.error ?? `HTTP ${res.status}`}`);
  return 1;
}
