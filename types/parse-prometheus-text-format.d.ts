// The Prometheus text format parser the /metrics tests read with (the package ships no types).
declare module 'parse-prometheus-text-format' {
  type Labels = Record<string, string>;
  export type Sample =
    | { value: string; labels?: Labels; timestamp_ms?: string }
    | { buckets: Record<string, string>; count: string; sum: string; labels?: Labels }
    | { quantiles: Record<string, string>; count: string; sum: string; labels?: Labels };
  export type MetricFamily = { name: string; help: string; type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'; metrics: Sample[] };
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
