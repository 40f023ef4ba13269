// frameline-cloud run|check-config|infer: the composition root. Config is read
// and validated once here; everything below receives typed values.
import { parseArgs } from 'node:util';
import { EXIT_NOPERM, createLogger, exitOnConfigError, describeConfig } from '@frameline/shared';
import { loadCloudConfig, type CloudConfig } from '../config.js';
import { createCloudService } from '../service.js';
import { poseModelOptions } from '../scheduler/model.js';
import { inferCommand } from './infer.js';

const USAGE = `usage: frameline-cloud <command> [--config FILE]

commands:
  run            consume frames, infer poses, publish results (until SIGTERM/SIGINT)
  check-config   validate the config and print the effective values (secrets masked)
  infer          run the pose model on image files (see frameline-cloud infer --help)

Every key can also be set by an env var FRAMELINE_CLOUD_<SECTION>_<KEY>; see config/cloud.example.json.
Exit status 78: invalid configuration; 77: the broker's ACLs refused the
service (the log names what was refused and the ACL to add).`;

function readConfig(file: string | undefined, overrides?: Record<string, unknown>): CloudConfig {
  try {
    return loadCloudConfig({ ...(file ? { file } : {}), ...(overrides ? { overrides } : {}) });
  } catch (err) {
    return exitOnConfigError(err);
  }
}

async function run(file: string | undefined): Promise<void> {
  const config = readConfig(file);
  const logger = createLogger({ level: config.log.level, scope: 'cloud' });
  let stopping: Promise<void> | undefined;
  const stop = (why: string, code = 0) => {
    if (code === 0) logger.info('signal received; stopping', { signal: why });
    stopping ??= service.stop().then(() => process.exit(code), (err: Error) => {
      logger.error('stop failed', { error: err });
      process.exit(code || 1);
    });
  };
  // Retrying cannot fix an ACL refusal: stop, and let systemd show why (status 77, NOPERM).
  const service = createCloudService(config, { logger, onRefused: (message) => {
    logger.error(`stopping: ${message}`);
    stop('refused', EXIT_NOPERM);
  } });
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    await service.start();
  } catch (err) {
    logger.error('cannot start', { error: err as Error });
    if (stopping) return; // a refusal is stopping it already
    await service.stop().catch(() => {});
    process.exit(service.refusal() ? EXIT_NOPERM : 1);
  }
}

const INFER_USAGE = `usage: frameline-cloud infer [--config FILE] [--out DIR] IMAGE...

Runs the configured pose model (model.* in the config; the default without one)
on JPEG or PNG files and prints one video.inferences record (JSON) per image.
--out DIR also writes DIR/<name>.pose.jpg with the skeletons drawn.
An image that cannot be read or decoded (or has more than ingest.maxFramePixels
pixels) gets one line "PATH: CODE: reason" on stderr; the others are still
inferred, and the exit status is then 65.`;

async function infer(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${INFER_USAGE}\n`);
    process.exit(64);
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    process.stdout.write(INFER_USAGE + '\n');
    if (!parsed.values.help) process.exitCode = 64;
    return;
  }
  // Without a config file only the model defaults matter: infer talks to no broker.
  const config = readConfig(parsed.values.config, parsed.values.config ? undefined : { kafka: { security: 'plaintext' } });
  // Results go to stdout as JSON lines; the log goes to stderr so they can be piped.
  const logger = createLogger({ level: config.log.level, scope: 'cloud', stream: process.stderr, journald: false });
  if (config.model.kind === 'slow-test') {
    process.stderr.write('model.kind "slow-test" is for pipeline tests and finds nobody; set model.kind to blazepose or onnx-keypoints\n');
    process.exit(64);
  }
  const outcome = await inferCommand({ images: parsed.positionals, ...(parsed.values.out ? { outDir: parsed.values.out } : {}), model: poseModelOptions(config.model), maxPixels: config.ingest.maxFramePixels }, logger);
  // EX_DATAERR: some input images were bad; each has its line on stderr.
  if (outcome.failed > 0) process.exitCode = 65;
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
