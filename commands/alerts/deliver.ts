import {Flags} from '@oclif/core';

import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class AlertsDeliver extends DaemonEyeCommand<typeof AlertsDeliver> {
  static override summary = 'Retry alerts that a sink could not take earlier (the spool).';
  static override description =
    'Delivers the spooled alerts of every configured sink (or of each --sink) and reports, per sink, what was delivered and what is still pending. Alerts of runs killed before they reached the spools (their run journals) are delivered too. Exit 0 when nothing is pending, 3 when some alerts are still spooled or the spool could not be written.';
  static override examples = ['<%= config.bin %> alerts deliver', '<%= config.bin %> alerts deliver --sink siem --format json | jq .spooled'];
  static override flags = {
    sink: Flags.string({summary: 'Only this sink (repeatable).', multiple: true}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const {deliverSpool} = await import('../../src/alerting/alert-manager.js');
    const summary = await deliverSpool(config, {sinkNames: this.flags.sink ?? [], logger: this.logger});
    const {deliveryView} = await import('../../src/alerting/delivery-view.js');
    const {recordDeliverySummaryMetrics} = await import('../../src/telemetry/record-metrics.js');
    recordDeliverySummaryMetrics(this.metrics, summary);
    const sinks = summary.deliveries.length;
    return {
      output: shown(deliveryView(summary), this.flags.format),
      report: [
        {info: `${summary.delivered} spooled alert(s) delivered, ${summary.spooled} still pending (${sinks} sink(s))`},
        ...summary.state_errors.map((problem) => ({error: `state was not written: ${problem}`})),
      ],
      exitCode: summary.spooled > 0 || summary.state_errors.length > 0 ? ExitCode.RuntimeFailure : ExitCode.Success,
      audit: {action: 'alert_redelivery', payload: {delivered: summary.delivered, pending: summary.spooled, deliveries: summary.deliveries}},
    };
  }
}
