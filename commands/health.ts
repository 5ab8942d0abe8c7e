import {Flags} from '@oclif/core';

import {ExitCode} from '../src/errors.js';
import {
  type ComponentHealth,
  HEALTH_COMPONENT_ALIASES,
  HEALTH_COMPONENTS,
  HEALTH_STATUSES,
  HealthMonitor,
  type HealthState,
  worseState,
} from '../src/telemetry/health.js';
import {healthView} from '../src/telemetry/health-view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Health extends DaemonEyeCommand<typeof Health> {
  static override summary = 'Check each component: configuration, /proc access, rules, store, last run, ledger and keys, sinks.';
  static override description =
    'Each component is healthy, degraded or unhealthy, with a reason. Exit 0 when all are healthy, 1 when any is degraded or unhealthy. A summary is printed on stderr.';
  static override examples = [
    '<%= config.bin %> health',
    '<%= config.bin %> health --component collector --format json',
    '<%= config.bin %> health --format ndjson | jq -c \'select(.status != "healthy")\'',
  ];
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'table'] as const),
    component: Flags.option({
      summary: 'Check only this component (database is the store).',
      options: [...HEALTH_COMPONENTS, ...Object.keys(HEALTH_COMPONENT_ALIASES)],
    })(),
  };

  protected async execute(): Promise<CommandOutcome> {
    const monitor = new HealthMonitor({loadConfig: () => this.loadConfig()});
    const components: ComponentHealth[] =
      this.flags.component === undefined ? Object.values((await monitor.checkSystemHealth()).components) : [await monitor.checkComponent(this.flags.component)];
    const status = components.reduce<HealthState>((worst, c) => worseState(worst, c.status), 'healthy');
    for (const c of components) this.metrics.recordGauge('daemoneye_health_component_status', HEALTH_STATUSES.indexOf(c.status), {component: c.component});
    const unhealthy = components.filter((c) => c.status !== 'healthy');
    const bad = unhealthy.map((c) => c.component);
    return {
      output: shown(healthView(components), this.flags.format),
      report: [
        ...unhealthy.map((c) => ({warn: `${c.component}: ${c.status}: ${c.reason}`})),
        {info: `health: ${status}${bad.length > 0 ? ` (${bad.join(', ')})` : ` (${components.length} component(s) checked)`}`},
      ],
      exitCode: status === 'healthy' ? ExitCode.Success : ExitCode.CheckFailed,
      audit: null,
    };
  }
}
