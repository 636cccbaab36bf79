/**
 * A bundle's readings as chart series: per metric, the readings in sequence order with their times and
 * values, the gaps between consecutive sequence numbers, and which values fall outside a range.
 */
import { metricName } from "../telemetry";
import type { ProofBundle } from "../proof";

export interface MetricSeries {
  /** The metric's name (`temperature.mC`), or its bytes32 when it is not a short name. */
  metric: string;
  sequences: bigint[];
  /** Device time, Unix seconds. */
  timestamps: number[];
  values: number[];
  /** Missing sequences between consecutive readings: after `afterSequence`, `missing` of them. */
  gaps: { afterSequence: bigint; missing: bigint; timestamp: number }[];
  /** Indices of the values outside `range`. */
  outOfRange: number[];
}

export function readingSeries(bundle: ProofBundle, range: { min?: number; max?: number } = {}): MetricSeries[] {
  const byMetric = new Map<string, ProofBundle["readings"]>();
  for (const item of bundle.readings) {
    const list = byMetric.get(item.reading.metric) ?? [];
    list.push(item);
    byMetric.set(item.reading.metric, list);
  }
  return [...byMetric].map(([metric, items]) => {
    const sorted = [...items].sort((a, b) => (BigInt(a.reading.sequence) < BigInt(b.reading.sequence) ? -1 : 1));
    const series: MetricSeries = {
      metric: metricName(metric) ?? metric,
      sequences: sorted.map((r) => BigInt(r.reading.sequence)),
      timestamps: sorted.map((r) => Number(r.reading.timestamp)),
      values: sorted.map((r) => Number(r.reading.value)),
      gaps: [],
      outOfRange: [],
    };
    for (let i = 1; i < sorted.length; i++) {
      const missing = series.sequences[i]! - series.sequences[i - 1]! - 1n;
      if (missing > 0n)
        series.gaps.push({ afterSequence: series.sequences[i - 1]!, missing, timestamp: series.timestamps[i - 1]! });
    }
    series.values.forEach((value, i) => {
      if ((range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
        series.outOfRange.push(i);
      }
    });
    return series;
  });
}
