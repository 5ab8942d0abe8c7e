// HealthMonitor: checks each component an unattended DaemonEye run depends on (configuration, /proc access,
// rules, store, last successful run, ledger and keys, sinks) and reports healthy, degraded or unhealthy with a reason.
import type {Config} from '../config/builder.js';
import {configScrubber} from '../config/redact.js';
import {Scrubber} from '../redaction/redact.js';
import {isDaemonEyeError} from '../errors.js';
import {checkCollector, checkKeys, checkLastRun, checkLedger, checkRules, checkSinks, checkStore} from './health-checks.js';
import {defaultHealthProbes, type HealthProbes} from './health-probes.js';

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthState = (typeof HEALTH_STATUSES)[number];

export const HEALTH_COMPONENTS = ['config', 'collector', 'rules', 'store', 'last_run', 'ledger', 'sinks'] as const;
export type HealthComponentName = (typeof HEALTH_COMPONENTS)[number];
/** The reference API calls the store "database"; both names are accepted by `--component`. */
export const HEALTH_COMPONENT_ALIASES: Readonly<Record<string, HealthComponentName>> = {database: 'store'};

export interface ComponentHealth {
  readonly component: HealthComponentName;
  readonly status: HealthState;
  /** One human sentence: what is wrong and what to do, or what was found healthy. */
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface HealthStatus {
  readonly status: HealthState;
  /** When the check ran, epoch ms. */
  readonly checked_at: number;
  readonly components: Readonly<Partial<Record<HealthComponentName, ComponentHealth>>>;
}

export interface HealthMonitorOptions {
  /** Loads the layered configuration (throws a DaemonEyeError when it is invalid). */
  readonly loadConfig: () => Config;
  /** The checks that belong to other modules (rules, ledger); defaults work on the files alone. */
  readonly probes?: Partial<HealthProbes>;
  readonly now?: () => number;
  /** Timeout of one sink probe (TCP connect, HTTP HEAD). */
  readonly sinkTimeoutMs?: number;
  /** Root of the proc file system (tests). */
  readonly procRoot?: string;
}

/** The worse of two states. */
export function worseState(a: HealthState, b: HealthState): HealthState {
  return HEALTH_STATUSES.indexOf(a) >= HEALTH_STATUSES.indexOf(b) ? a : b;
}

export function resolveComponentName(name: string): HealthComponentName | undefined {
  const lower = name.toLowerCase();
  if ((HEALTH_COMPONENTS as readonly string[]).includes(lower)) return lower as HealthComponentName;
  return HEALTH_COMPONENT_ALIASES[lower];
}

export class HealthMonitor {
  private readonly probes: HealthProbes;
  private readonly now: () => number;
  private config: Config | undefined;
  private configError: string | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.probes = {...defaultHealthProbes, ...options.probes};
    this.now = options.now ?? Date.now;
  }

  /** Every component, checked concurrently; the overall status is the worst of them. */
  async checkSystemHealth(): Promise<HealthStatus> {
    const results = await Promise.all(HEALTH_COMPONENTS.map((name) => this.checkComponent(name)));
    const components: Partial<Record<HealthComponentName, ComponentHealth>> = {};
    for (const result of results) components[result.component] = result;
    return {status: results.reduce<HealthState>((worst, r) => worseState(worst, r.status), 'healthy'), checked_at: this.now(), components};
  }

  /**
   * One component by name (`database` is the store). Its reason and details are scrubbed of secrets (the
   * configuration's own values and whatever the redaction policy finds) before they leave the monitor: a
   * probe's error, a server's answer or a configuration message may quote a URL, a header or a token.
   */
  async checkComponent(name: string): Promise<ComponentHealth> {
    const result = await this.checkUnscrubbed(name);
    const scrubber = this.config === undefined ? new Scrubber() : configScrubber(this.config.values);
    return {...result, reason: scrubber.text(result.reason), details: scrubber.value(result.details)};
  }

  private async checkUnscrubbed(name: string): Promise<ComponentHealth> {
    const component = resolveComponentName(name);
    if (component === undefined) throw new Error(`unknown health component ${name}`);
    const config = this.configOrError();
    if (component === 'config') {
      return config === undefined
        ? {component, status: 'unhealthy', reason: this.configError ?? 'configuration invalid', details: {}}
        : {component, status: 'healthy', reason: 'configuration is valid', details: {files: [...config.files]}};
    }
    if (config === undefined) return {component, status: 'unhealthy', reason: 'not checked: the configuration is invalid (see component config)', details: {}};
    try {
      return {component, ...(await this.run(component, config))};
    } catch (error) {
      // A check that throws is itself a finding, never a crash of the whole report.
      const message = isDaemonEyeError(error) ? error.toOneLine() : error instanceof Error ? error.message : String(error);
      return {component, status: 'unhealthy', reason: `check failed: ${message}`, details: {}};
    }
  }

  private async run(component: Exclude<HealthComponentName, 'config'>, config: Config): Promise<Omit<ComponentHealth, 'component'>> {
    const values = config.values;
    const paths = config.paths;
    switch (component) {
      case 'collector':
        return checkCollector(this.options.procRoot ?? '/proc');
      case 'rules':
        return checkRules(await this.probes.validateRules(config));
      case 'store':
        return checkStore(paths.storeDir, values.storage.max_size_mb);
      case 'last_run':
        return checkLastRun(values.audit.enabled, paths.ledgerPath, values.app.scan_interval_ms, this.now(), this.probes);
      case 'ledger': {
        const ledger = await checkLedger(values.audit.enabled, paths.ledgerPath, this.probes);
        const keys = checkKeys(values.crypto.private_key_path, values.crypto.public_key_path);
        return {
          status: worseState(ledger.status, keys.status),
          reason:
            [ledger, keys]
              .filter((part) => part.status !== 'healthy')
              .map((part) => part.reason)
              .join('; ') || `${ledger.reason}; ${keys.reason}`,
          details: {...ledger.details, keys: keys.details},
        };
      }
      case 'sinks':
        return checkSinks(values.alerting.sinks, this.options.sinkTimeoutMs ?? 2_000);
    }
  }

  private configOrError(): Config | undefined {
    if (this.config === undefined && this.configError === undefined) {
      try {
        this.config = this.options.loadConfig();
      } catch (error) {
        if (!isDaemonEyeError(error)) throw error;
        this.configError = [error.toOneLine(), ...error.details].join('; ');
      }
    }
    return this.config;
  }
}
