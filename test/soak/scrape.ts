// Reads a process's Prometheus /metrics for the soak's figures.

/** Sum of every series of `name` whose labels include `where` (NaN when the metric is absent). */
export function metricSum(text: string, name: string, where: (labels: string) => boolean = () => true): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labels = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (!where(labels)) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The /metrics text at 127.0.0.1:port, or undefined when it does not answer within 5 s. */
export async function scrape(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

export interface AgentCounts {
  captured: number;
  passed: number;
  sent: number;
  spoolFrames: number;
  queueFrames: number;
  connected: number;
  /** Frames dropped after they got an fl-seq: spool evictions and delivery drops. */
  droppedAfterSeq: number;
}

export function agentCounts(text: string): AgentCounts {
  const p = 'frameline_agent_';
  return {
    captured: metricSum(text, `${p}frames_captured_total`),
    passed: metricSum(text, `${p}frames_passed_total`),
    sent: metricSum(text, `${p}frames_sent_total`),
    spoolFrames: metricSum(text, `${p}spool_frames`),
    queueFrames: metricSum(text, `${p}queue_frames`),
    connected: metricSum(text, `${p}broker_connected`),
    droppedAfterSeq: metricSum(text, `${p}frames_dropped_total`, (l) => /reason="(spool_evicted|delivery_[a-zA-Z]+)"/.test(l)) || 0,
  };
}

export interface CloudCounts {
  consumed: number;
  inferred: number;
  skipped: number;
  dlq: number;
  lag: number;
}

export function cloudCounts(text: string): CloudCounts {
  // Labelled counters have no series before their first increment.
  return {
    consumed: metricSum(text, 'frameline_frames_consumed_total') || 0,
    inferred: metricSum(text, 'frameline_frames_inferred_total') || 0,
    skipped: metricSum(text, 'frameline_frames_skipped_total') || 0,
    dlq: metricSum(text, 'frameline_frames_dlq_total') || 0,
    lag: metricSum(text, 'frameline_consumer_lag_records'),
  };
}
