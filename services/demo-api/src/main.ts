/** Entry point of the demo API as a service (containers): settings from the environment only. */
import { DemoConfigError, loadDemoConfig } from './config.js';
import { createDemoLogger, startDemoApi } from './server.js';

let config;
try {
  config = loadDemoConfig();
} catch (err) {
  process.stderr.write(`${err instanceof DemoConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}
const logger = createDemoLogger(config);
const api = await startDemoApi(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'demo API did not start');
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    void api.close().then(() => process.exit(0));
  });
}
