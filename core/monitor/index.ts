/**
 * TOTVS Monitor's entry point: read the destinations (read-only), judge each environment,
 * render the result as items, Prometheus metrics or an HTML status page.
 */
import { checkEnvironmentName } from '../backup-set/ids';
import { evaluateMonitor } from './evaluate';
import { readDestinations, type MonitorTarget, type ReadOptions } from './gather';
import type { DestinationReading, EnvironmentResult, MonitorInput } from './types';

export * from './types';
export { evaluateMonitor, resolveThresholds } from './evaluate';
export { readDestination, readDestinations, type MonitorTarget, type ReadOptions } from './gather';
export { renderPrometheus, escapeLabelValue, formatValue, PROMETHEUS_CONTENT_TYPE } from './prometheus';
export { renderStatusPage, sparkline, escapeHtml, type ChartPoint } from './html';
export { monitorSummary, statusText, reasonText } from './summary';
export { ageText } from './reasons';

export interface MonitorRunOptions extends Omit<ReadOptions, 'recordsToRead'> {
	thresholds?: MonitorInput['thresholds'];
	now?: () => Date;
}

/** Reads every target and judges each environment: what the node runs. */
export async function runMonitor(
	targets: MonitorTarget[],
	options: MonitorRunOptions = {},
): Promise<{ results: EnvironmentResult[]; readings: DestinationReading[] }> {
	// A name that cannot be a folder is the user's typo: say so, rather than report it per destination.
	const environments = options.environments?.map(checkEnvironmentName);
	const readings = await readDestinations(targets, {
		environments,
		logger: options.logger,
		// Enough records for the RTO trend.
		recordsToRead: options.thresholds?.trendLength ?? undefined,
	});
	const results = evaluateMonitor({
		destinations: readings,
		now: (options.now ?? (() => new Date()))(),
		thresholds: options.thresholds,
		environments,
	});
	return { results, readings };
}
