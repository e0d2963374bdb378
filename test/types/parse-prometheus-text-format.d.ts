/** parse-prometheus-text-format ships no types: its default export parses the text exposition into prom2json-like families. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
