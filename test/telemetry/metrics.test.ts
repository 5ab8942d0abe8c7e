import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {describe, expect, it} from 'vitest';

import {DEFAULT_SECONDS_BUCKETS, escapeLabelValue, MetricsCollector} from '../../src/telemetry/metrics.js';
import {recordDeliverySummaryMetrics} from '../../src/telemetry/record-metrics.js';

describe('MetricsCollector', () => {
  it('exports counters, gauges and labelled series that a real Prometheus parser reads back', () => {
    const metrics = new MetricsCollector();
    metrics.recordCounter('daemoneye_processes_collected_total', 150);
    metrics.recordCounter('daemoneye_processes_collected_total', 2);
    metrics.recordGauge('daemoneye_active_processes', 45);
    metrics.recordCounter('daemoneye_alerts_generated_total', 1, {severity: 'high'});
    metrics.recordCounter('daemoneye_alerts_generated_total', 3, {severity: 'low'});
    metrics.recordCounter('daemoneye_alert_deliveries_total', 1, {sink: 'siem', result: 'failed'});
    const text = metrics.exportMetrics();
    const families = parsePrometheusTextFormat(text);
    const byName = new Map(families.map((family) => [family.name, family]));
    expect(byName.get('daemoneye_processes_collected_total')).toMatchObject({type: 'COUNTER', metrics: [{value: '152'}]});
    expect(byName.get('daemoneye_active_processes')).toMatchObject({type: 'GAUGE', metrics: [{value: '45'}]});
    expect(byName.get('daemoneye_alerts_generated_total')?.metrics).toEqual([
      {value: '1', labels: {severity: 'high'}},
      {value: '3', labels: {severity: 'low'}},
    ]);
    expect(byName.get('daemoneye_alert_deliveries_total')?.metrics).toEqual([{value: '1', labels: {result: 'failed', sink: 'siem'}}]);
    expect(byName.get('daemoneye_active_processes')?.help).toBe('Processes present in the last snapshot.');
  });

  it('writes HELP and TYPE once per family, before its samples', () => {
    const metrics = new MetricsCollector();
    metrics.recordCounter('daemoneye_alerts_generated_total', 1, {severity: 'high'});
    metrics.recordCounter('daemoneye_alerts_generated_total', 1, {severity: 'critical'});
    metrics.recordHistogram('daemoneye_rule_duration_seconds', 0.2, {rule: 'a'});
    metrics.recordHistogram('daemoneye_rule_duration_seconds', 0.3, {rule: 'b'});
    const lines = metrics.exportMetrics().split('\n');
    expect(lines.filter((line) => line === '# TYPE daemoneye_alerts_generated_total counter')).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('# HELP daemoneye_rule_duration_seconds '))).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('# TYPE daemoneye_rule_duration_seconds'))).toEqual(['# TYPE daemoneye_rule_duration_seconds histogram']);
    const typeLine = lines.indexOf('# TYPE daemoneye_alerts_generated_total counter');
    expect(lines[typeLine + 1]).toBe('daemoneye_alerts_generated_total{severity="critical"} 1');
  });

  it('renders labelled histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const metrics = new MetricsCollector();
    for (const seconds of [0.004, 0.004, 0.3, 7, 120]) metrics.recordHistogram('daemoneye_rule_duration_seconds', seconds, {rule: 'shell-from-web'});
    metrics.recordHistogram('daemoneye_rule_duration_seconds', 0.02, {rule: 'other'});
    const text = metrics.exportMetrics();
    expect(text).toContain('daemoneye_rule_duration_seconds_bucket{rule="shell-from-web",le="0.005"} 2\n');
    expect(text).toContain('daemoneye_rule_duration_seconds_bucket{rule="shell-from-web",le="0.5"} 3\n');
    expect(text).toContain('daemoneye_rule_duration_seconds_bucket{rule="shell-from-web",le="60"} 4\n');
    expect(text).toContain('daemoneye_rule_duration_seconds_bucket{rule="shell-from-web",le="+Inf"} 5\n');
    expect(Number(/^daemoneye_rule_duration_seconds_sum\{rule="shell-from-web"\} (\S+)$/m.exec(text)?.[1])).toBeCloseTo(127.308, 9);
    expect(text).toContain('daemoneye_rule_duration_seconds_count{rule="other"} 1\n');
    // The parser accepts every line (it throws on a malformed one); it keeps only le of labelled histograms.
    expect(parsePrometheusTextFormat(text)[0]?.type).toBe('HISTOGRAM');
  });

  it('renders an unlabelled histogram that the parser reads back whole', () => {
    const metrics = new MetricsCollector();
    for (const seconds of [0.004, 0.004, 0.3, 7, 120]) metrics.recordHistogram('daemoneye_collection_duration_seconds', seconds);
    const [family] = parsePrometheusTextFormat(metrics.exportMetrics());
    expect(family?.type).toBe('HISTOGRAM');
    const sample = family?.metrics[0];
    expect(Number(sample?.count)).toBe(5);
    expect(Number(sample?.sum)).toBeCloseTo(127.308, 6);
    expect(Object.keys(sample?.buckets ?? {})).toHaveLength(DEFAULT_SECONDS_BUCKETS.length + 1);
    expect(sample?.buckets?.['+Inf']).toBe('5');
    expect(sample?.buckets?.['1']).toBe('3');
    // Cumulative: never decreasing.
    const counts = DEFAULT_SECONDS_BUCKETS.map((le) => Number(sample?.buckets?.[String(le)]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('C:\\dir "x"\ny')).toBe('C:\\\\dir \\"x\\"\\ny');
    const metrics = new MetricsCollector();
    const nasty = 'rule "q"\\path\nnext';
    metrics.recordCounter('daemoneye_alert_deliveries_total', 1, {sink: nasty, result: 'ok'});
    metrics.recordGauge('daemoneye_active_processes', 1, {host: nasty});
    const families = parsePrometheusTextFormat(metrics.exportMetrics());
    expect(families.find((f) => f.name === 'daemoneye_alert_deliveries_total')?.metrics[0]?.labels).toEqual({result: 'ok', sink: nasty});
    expect(families.find((f) => f.name === 'daemoneye_active_processes')?.metrics[0]?.labels).toEqual({host: nasty});
  });

  it('refuses what Prometheus would reject: bad names, decreasing counters, type clashes, le on histograms', () => {
    const metrics = new MetricsCollector();
    expect(() => metrics.recordCounter('bad-name', 1)).toThrow(/invalid metric name/);
    expect(() => metrics.recordCounter('daemoneye_rules_failed_total', -1)).toThrow(/cannot decrease/);
    expect(() => metrics.recordGauge('x', 1, {'bad-label': 'v'})).toThrow(/invalid label name/);
    metrics.recordGauge('daemoneye_active_processes', 3);
    expect(() => metrics.recordCounter('daemoneye_active_processes', 1)).toThrow(/is a gauge/);
    expect(() => metrics.recordHistogram('h_seconds', 1, {le: '1'})).toThrow(/"le"/);
  });

  it('formats special values as Prometheus does and exports nothing when empty', () => {
    const metrics = new MetricsCollector();
    expect(metrics.exportMetrics()).toBe('');
    metrics.recordGauge('g', Number.POSITIVE_INFINITY, {k: 'inf'});
    metrics.recordGauge('g', Number.NaN, {k: 'nan'});
    expect(metrics.exportMetrics()).toContain('g{k="inf"} +Inf\ng{k="nan"} NaN\n');
  });

  it('counts deliveries per sink and result from the alerting summary', () => {
    const metrics = new MetricsCollector();
    recordDeliverySummaryMetrics(metrics, {suppressed: 2, deliveries: [{sink: 'siem', delivered: 3, pending: 1, dropped: 0}]});
    const family = parsePrometheusTextFormat(metrics.exportMetrics()).find((f) => f.name === 'daemoneye_alert_deliveries_total');
    expect(family?.metrics).toEqual([
      {value: '3', labels: {result: 'delivered', sink: 'siem'}},
      {value: '0', labels: {result: 'dropped', sink: 'siem'}},
      {value: '1', labels: {result: 'spooled', sink: 'siem'}},
      {value: '2', labels: {result: 'suppressed', sink: 'all'}},
    ]);
  });
});
