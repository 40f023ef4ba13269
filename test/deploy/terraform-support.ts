// Running deploy/terraform offline in tests: the preinstalled Terraform CLI with
// the AWS provider from the machine's filesystem mirror, always on a scratch
// copy of deploy/ so that no .terraform/ or state lands in the checkout.
// renderBrokerUserData() renders one broker's user_data through the module's own
// broker-user-data sub-module, for tests that boot it (no provider needed).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@frameline/shared/testing';

export const MODULE_DIR = join(REPO_ROOT, 'deploy/terraform');
const PLUGIN_DIRS = [process.env.FRAMELINE_TF_PLUGIN_DIR, '/opt/tf-plugins', '/usr/share/terraform/plugins'];

/** Environment for the terraform CLI: offline provider mirror, no prompts, no update checks. */
export function terraformEnv(scratch: string): NodeJS.ProcessEnv {
  const mirror = PLUGIN_DIRS.find((d) => d && existsSync(join(d, 'registry.terraform.io/hashicorp/aws')));
  if (!mirror) {
    throw new Error(`no hashicorp/aws provider mirror in ${PLUGIN_DIRS.filter(Boolean).join(', ')}; set FRAMELINE_TF_PLUGIN_DIR to a filesystem mirror`);
  }
  const rc = join(scratch, 'terraform.rc');
  writeFileSync(rc, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`);
  return { ...process.env, TF_CLI_CONFIG_FILE: rc, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', NO_COLOR: '1' };
}

export interface TerraformResult { status: number; stdout: string; stderr: string }

/** Runs terraform in dir, killed after 10 min; throws with its output unless it exits 0 (or allowFailure). */
export function terraform(dir: string, env: NodeJS.ProcessEnv, args: string[], allowFailure = false): TerraformResult {
  const r = spawnSync('terraform', [...args, ...(args[0] === 'fmt' || args[0] === 'output' || args[0] === 'show' ? [] : ['-no-color'])], {
    cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000, killSignal: 'SIGINT',
  });
  if (r.error) throw new Error(`terraform not runnable (${r.error.message}); Terraform >= 1.9 must be on PATH`);
  const result = { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`terraform ${args.join(' ')} failed in ${dir} (exit ${result.status}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-6000)}`);
  }
  return result;
}

export interface Scratch { root: string; module: string; env: NodeJS.ProcessEnv }

/**
 * Copies deploy/terraform, deploy/kafka and deploy/systemd to a temp dir (without
 * .terraform/ or state) and runs `terraform init` there. Until the broker's
 * ec2-bootstrap.sh exists in deploy/kafka, the copy gets one that only fails, so
 * the module's "bootstrap present" precondition can pass; the returned note says so.
 */
export function scratchModule(label: string): Scratch & { note: string } {
  const root = mkdtempSync(join(tmpdir(), `fl-tf-${label}-`));
  const skip = (src: string) => !/[/\\](\.terraform|terraform\.tfstate[^/]*|override\.tf)$/.test(src);
  for (const part of ['terraform', 'kafka', 'systemd']) {
    cpSync(join(REPO_ROOT, 'deploy', part), join(root, 'deploy', part), { recursive: true, filter: skip });
  }
  let note = '';
  const bootstrap = join(root, 'deploy/kafka/ec2-bootstrap.sh');
  if (!existsSync(bootstrap)) {
    writeFileSync(bootstrap, '#!/bin/bash\necho "ec2-bootstrap.sh is not in this checkout" >&2\nexit 1\n');
    note = 'deploy/kafka/ec2-bootstrap.sh is missing in this checkout: rendered a failing stand-in';
  }
  const module = join(root, 'deploy/terraform');
  const env = terraformEnv(root);
  terraform(module, env, ['init', '-backend=false']);
  return { root, module, env, note };
}

export interface BrokerUserDataInputs {
  clusterName: string;
  region: string;
  nodeId: number;
  privateIps: string[];
  externalHost: string;
  externalDns?: string;
  ports?: { internal: number; external: number; controller: number };
  partitions?: number;
  retentionHours?: number;
  heap?: string;
  /** vol-... or "none" (use /var/lib/kafka as is). */
  dataVolumeId?: string;
  /** Folder to embed; the repository's deploy/kafka by default. */
  kafkaDir?: string;
}

export interface RenderedBrokerUserData {
  /** The user_data bash script as cloud-init runs it. */
  script: string;
  /** The /etc/frameline/kafka.env it writes. */
  kafkaEnv: string;
  /** gzip+base64, exactly as EC2 receives it. */
  userDataBase64: string;
  /** The gzip bytes, as EC2 counts them against its 16384-byte limit. */
  userDataBytes: number;
  /** deploy/kafka files it embeds. */
  files: string[];
}

/** Renders one broker's user_data with Terraform (modules/broker-user-data), offline. */
export function renderBrokerUserData(inputs: BrokerUserDataInputs): RenderedBrokerUserData {
  const dir = mkdtempSync(join(tmpdir(), 'fl-tf-userdata-'));
  const args = {
    source: join(MODULE_DIR, 'modules/broker-user-data'),
    cluster_name: inputs.clusterName,
    ssm_prefix: `/frameline/${inputs.clusterName}`,
    region: inputs.region,
    node_id: inputs.nodeId,
    private_ips: inputs.privateIps,
    external_host: inputs.externalHost,
    external_dns: inputs.externalDns ?? '',
    ports: inputs.ports ?? { internal: 19092, external: 9092, controller: 9093 },
    partitions: inputs.partitions ?? 12,
    retention_hours: inputs.retentionHours ?? 24,
    heap: inputs.heap ?? '1g',
    data_volume_id: inputs.dataVolumeId ?? 'none',
    // An absolute module source is copied into .terraform/modules, away from ../kafka: name the folder.
    kafka_dir: inputs.kafkaDir ?? join(REPO_ROOT, 'deploy/kafka'),
  };
  // JSON configuration syntax: no HCL quoting to get wrong.
  writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({
    module: { broker: args },
    output: Object.fromEntries(['script', 'kafka_env', 'user_data_base64', 'user_data_bytes', 'files'].map((o) => [o, { value: `\${module.broker.${o}}` }])),
  }, null, 2));
  try {
    const env = terraformEnv(dir);
    terraform(dir, env, ['init']);
    terraform(dir, env, ['apply', '-auto-approve']);
    const out = JSON.parse(terraform(dir, env, ['output', '-json']).stdout) as Record<string, { value: unknown }>;
    return {
      script: out.script!.value as string,
      kafkaEnv: out.kafka_env!.value as string,
      userDataBase64: out.user_data_base64!.value as string,
      userDataBytes: out.user_data_bytes!.value as number,
      files: out.files!.value as string[],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
