// Per-agent gauges on the cloud's /metrics (one scrape covers the fleet).
// Label values are camera ids that parseAgentStatus validated, at most
// fleet.maxAgents of them; every scrape rebuilds the gauges from the fleet
// view, so a forgotten agent's series disappear.
import client from 'prom-client';
import { AGENT_BROKER_STATES, AGENT_CAMERA_STATES } from '@frameline/shared';
import type { AgentHealth, FleetAgentView } from './state.js';

export interface FleetCounters {
  accepted: client.Counter;
  invalid: client.Counter;
  overLimit: client.Counter;
  /** Entries into a broker state, per agent: a scrape every 15 s still sees a short spooling episode. */
  brokerStateChanges: client.Counter<'camera' | 'state'>;
}

const HEALTHS: AgentHealth[] = ['offline', 'failing', 'degraded', 'healthy'];
const FLAGS = ['under-voltage', 'frequency-capped', 'throttled', 'soft-temp-limit'];

export function createFleetMetrics(registry: client.Registry, view: () => FleetAgentView[]): FleetCounters {
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: client.Gauge<string>, r: FleetAgentView) => void) =>
    new client.Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const r of view()) fill(this, r);
      },
    });
  gauge('frameline_fleet_up', 'Agent sent a status within fleet.offlineAfter (1) or not (0)', ['camera'], (g, r) => g.set({ camera: r.camera }, r.health === 'offline' ? 0 : 1));
  gauge('frameline_fleet_last_seen_age_seconds', 'Seconds since the agent\'s latest status arrived', ['camera'], (g, r) => g.set({ camera: r.camera }, r.lastSeenMs / 1000));
  gauge('frameline_fleet_capture_fps', 'Frames/s the agent\'s pipeline passed (its latest status)', ['camera'], (g, r) => g.set({ camera: r.camera }, r.captureFps));
  gauge('frameline_fleet_spool_bytes', 'Bytes in the agent\'s spool', ['camera'], (g, r) => g.set({ camera: r.camera }, r.spoolBytes));
  gauge('frameline_fleet_spool_oldest_age_seconds', 'Age of the agent\'s oldest spooled frame (0: spool empty)', ['camera'], (g, r) => g.set({ camera: r.camera }, (r.spoolOldestAgeMs ?? 0) / 1000));
  gauge('frameline_fleet_broker_state', 'The agent\'s link to the broker: 1 for its current state', ['camera', 'state'], (g, r) => {
    for (const state of AGENT_BROKER_STATES) g.set({ camera: r.camera, state }, r.broker === state ? 1 : 0);
  });
  gauge('frameline_fleet_camera_state', 'The agent\'s camera: 1 for its current state', ['camera', 'state'], (g, r) => {
    for (const state of AGENT_CAMERA_STATES) g.set({ camera: r.camera, state }, r.cameraState === state ? 1 : 0);
  });
  gauge('frameline_fleet_soc_temperature_celsius', 'The Pi\'s SoC temperature (absent where the hardware does not report it)', ['camera'], (g, r) => {
    if (r.socTempC !== undefined) g.set({ camera: r.camera }, r.socTempC);
  });
  gauge('frameline_fleet_throttled', 'Firmware flags active now, 1 per flag (absent where the hardware does not report them)', ['camera', 'flag'], (g, r) => {
    if (r.throttledNow) for (const flag of FLAGS) g.set({ camera: r.camera, flag }, r.throttledNow.includes(flag) ? 1 : 0);
  });
  new client.Gauge({
    name: 'frameline_fleet_agents', help: 'Agents known, by health', labelNames: ['health'], registers: [registry],
    collect() {
      const rows = view();
      for (const health of HEALTHS) this.set({ health }, rows.filter((r) => r.health === health).length);
    },
  });
  return {
    accepted: new client.Counter({ name: 'frameline_fleet_statuses_total', help: 'Valid agent statuses read from the status topic', registers: [registry] }),
    invalid: new client.Counter({ name: 'frameline_fleet_statuses_invalid_total', help: 'Records on the status topic that are not valid statuses (skipped)', registers: [registry] }),
    overLimit: new client.Counter({ name: 'frameline_fleet_statuses_refused_total', help: 'Statuses of agents beyond fleet.maxAgents (dropped)', registers: [registry] }),
    brokerStateChanges: new client.Counter({
      name: 'frameline_fleet_broker_state_changes_total', help: 'Times an agent\'s status entered a broker state (connected, spooling, catching-up, ...) since this instance started',
      labelNames: ['camera', 'state'], registers: [registry],
    }),
  };
}
