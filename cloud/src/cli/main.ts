// frameline-cloud run|check-config|infer: the composition root. Config is read
// and validated once here; everything below receives typed values.
import { parseArgs } from 'node:util';
import { createLogger, exitOnConfigError, describeConfig } from '@frameline/shared';
import { loadCloudConfig, type CloudConfig } from '../config.js';
import { createCloudService } from '../service.js';

const USAGE = `usage: frameline-cloud <command> [--config FILE]

commands:
  run            consume frames, infer poses, publish results (until SIGTERM/SIGINT)
  check-config   validate the config and print the effective values (secrets masked)
  infer          run the pose model on image files (see frameline-cloud infer --help)

Every key can also be set by an env var FRAMELINE_CLOUD_<SECTION>_<KEY>; see config/cloud.example.json.
Exit status 78: invalid configuration.`;

function readConfig(file: string | undefined): CloudConfig {
  try {
    return loadCloudConfig(file ? { file } : {});
  } catch (err) {
    return exitOnConfigError(err);
  }
}

async function run(file: string | undefined): Promise<void> {
  const config = readConfig(file);
  const logger = createLogger({ level: config.log.level, scope: 'cloud' });
  const service = createCloudService(config, { logger });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    logger.info('signal received; stopping', { signal });
    stopping ??= service.stop().then(() => process.exit(0), (err: Error) => {
      logger.error('stop failed', { error: err });
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    await service.start();
  } catch (err) {
    logger.error('cannot start', { error: err as Error });
    await service.stop().catch(() => {});
    process.exit(1);
  }
}

async function infer(args: string[]): Promise<void> {
  const modulePath = './infer.js';
  let mod: { inferCommand?: (args: string[]) => Promise<number | void> };
  try {
    mod = (await import(modulePath)) as typeof mod;
  } catch (err) {
    process.stderr.write(`frameline-cloud infer is not available in this build: cloud/src/cli/infer.ts could not be loaded (${(err as Error).message})\n`);
    process.exit(70);
  }
  if (typeof mod.inferCommand !== 'function') {
    process.stderr.write('frameline-cloud infer is not available in this build: cloud/src/cli/infer.ts exports no inferCommand\n');
    process.exit(70);
  }
  const code = await mod.inferCommand(args);
  if (typeof code === 'number') process.exitCode = code;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'infer') return infer(rest);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    if (command === undefined) process.exitCode = 64;
    return;
  }
  let values: { config?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(64);
  }
  if (command === 'check-config') {
    process.stdout.write(describeConfig(readConfig(values.config)) + '\n');
    return;
  }
  if (command === 'run') return run(values.config);
  process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
  process.exit(64);
}
