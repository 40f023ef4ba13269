// frameline-agent run | check-config | doctor [--config FILE]
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG, EXIT_NOPERM, createLogger, describeConfig, type Logger } from '@frameline/shared';
import { checkFiles, loadAgentConfig, type AgentConfig } from './config.js';
import { CameraUnavailableError } from './camera/index.js';

/** sysexits.h EX_UNAVAILABLE: the camera (binary, device or file) cannot be used. */
const EXIT_UNAVAILABLE = 69;
import { startAgent } from './service/agent.js';
import { formatResults, runDoctor } from './doctor/checks.js';

const USAGE = `usage: frameline-agent <command> [--config FILE]

commands:
  run            capture and publish frames (what the systemd unit runs)
  check-config   validate the config and print it, secrets masked; exit 78 when invalid
  doctor         check DNS, TCP, TLS, credentials, advertised listeners, topics,
                 camera and spool, and say what to fix

The config file is JSON with comments (see config/agent.example.json); every
key can also come from its environment variable. Default file:
$FRAMELINE_AGENT_CONFIG or /etc/frameline/agent.json when it exists.

Exit status 78: invalid configuration; 77: the broker's ACLs refused the
agent (the log names what was refused and the ACL to add; spooled frames
stay for after it is granted); 69: no usable camera.`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 64;
  }
  const command = parsed.positionals[0];
  if (parsed.values.help || !command || !['run', 'check-config', 'doctor'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return parsed.values.help ? 0 : 64;
  }
  const file = parsed.values.config ?? env.FRAMELINE_AGENT_CONFIG ?? (await defaultConfigFile());

  let config: AgentConfig;
  try {
    config = loadAgentConfig({ ...(file ? { file } : {}), env });
    if (command !== 'doctor') checkFiles(config, file ?? 'environment and defaults');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const logger: Logger = createLogger({ level: config.log.level });
  if (config.kafka.passwordFile) logger.redact(config.kafka.passwordFile.reveal());

  switch (command) {
    case 'check-config':
      process.stdout.write(`${describeConfig(config)}\n`);
      process.stderr.write(`config ok${file ? `: ${file}` : ' (defaults and environment)'}\n`);
      return 0;
    case 'doctor': {
      // kafkajs's own connection errors would repeat what the checks say.
      const quiet = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
      const results = await runDoctor(config, quiet);
      process.stdout.write(`${formatResults(results)}\n`);
      const failed = results.filter((r) => !r.ok && !r.skipped).length;
      process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
      return failed === 0 ? 0 : 1;
    }
    default: {
      try {
        const agent = await startAgent(config, logger, { env, handleSignals: true });
        await agent.done;
        // The refusal was logged with the ACL to add; 77 (EX_NOPERM) tells systemd not to restart into it.
        return agent.refusal() ? EXIT_NOPERM : 0;
      } catch (err) {
        if (!(err instanceof CameraUnavailableError)) throw err;
        logger.error(err.message);
        return EXIT_UNAVAILABLE;
      }
    }
  }
}

async function defaultConfigFile(): Promise<string | undefined> {
  const { existsSync } = await import('node:fs');
  return existsSync('/etc/frameline/agent.json') ? '/etc/frameline/agent.json' : undefined;
}
