import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { openDestination } from '../../../core/destinations';
import {
	DEFAULT_THRESHOLDS,
	PROMETHEUS_CONTENT_TYPE,
	monitorSummary,
	reasonText,
	renderPrometheus,
	renderStatusPage,
	runMonitor,
	statusText,
	type EnvironmentResult,
	type MonitorInput,
	type MonitorLanguage,
	type MonitorStatus,
	type MonitorTarget,
} from '../../../core/monitor';
import {
	CONFIG_FROM_CREDENTIAL,
	DESTINATION_CREDENTIAL,
	type DestinationChoice,
} from '../../shared/destination-credentials';
import { SeparateItem, splitList, summaryLanguage } from '../../shared/run-items';
import { languageOption } from '../../shared/summary';

/** What the router keeps between items: the HTML pages to attach as binary data, by input item. */
export interface MonitorRun {
	pages: Map<number, IBinaryData>;
}

const threshold = (displayName: string, name: string, fallback: number, description: string): INodeProperties => ({
	displayName,
	name,
	type: 'number',
	typeOptions: { minValue: 0 },
	default: fallback,
	description,
});

export const description: INodeProperties[] = [
	{
		displayName: 'Destinations',
		name: 'destinations',
		type: 'multiOptions',
		options: [
			{ name: 'FTP / FTPS', value: 'ftp' },
			{ name: 'Google Drive (Service Account / Refresh Token)', value: 'googleDrive' },
			{ name: 'Google Drive (Sign in with Google)', value: 'googleDriveSignIn' },
			{ name: 'Local / Network Folders', value: 'local' },
			{ name: 'SFTP', value: 'sftp' },
		],
		default: ['sftp'],
		required: true,
		description:
			'Where the backup sets are. Each is only read, never written or locked. One credential of each kind, and any number of local folders.',
	},
	{
		displayName: 'Folder Paths',
		name: 'localFolders',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		required: true,
		placeholder: '/mnt/offsite/totvs',
		description: 'Absolute path of each local or network folder to read, one per line or separated by commas',
		displayOptions: { show: { destinations: ['local'] } },
	},
	{
		displayName: 'Environments',
		name: 'environments',
		type: 'string',
		default: '',
		placeholder: 'prod, homolog',
		description:
			'Environments to report, separated by commas. Empty: every environment found. A named environment with no backup on any destination is critical (never backed up).',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'HTML Status Page',
				value: 'html',
				description: 'One item with the status page (one row per environment, charts) as binary data, for an e-mail',
			},
			{
				name: 'One Item per Environment',
				value: 'items',
				description: 'Status (ok, warning, critical), reasons and figures of each environment, for IF and alert nodes',
			},
			{
				name: 'Prometheus Metrics',
				value: 'prometheus',
				description: 'One item with the metrics text in <code>metrics</code>, for Respond to Webhook',
			},
		],
		default: 'items',
	},
	{
		displayName: 'Minimum Copies',
		name: 'minCopies',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description:
			'The 3-2-1 rule: a warning when the newest good set is on fewer destinations than this. 0: it must be on every destination read.',
	},
	{
		displayName: 'Thresholds',
		name: 'thresholds',
		type: 'collection',
		placeholder: 'Add Threshold',
		default: {},
		options: [
			threshold(
				'Max Age of Newest Differential (Hours)',
				'maxDifferentialAgeHours',
				0,
				'Critical when the newest good differential is older than this. 0: not checked.',
			),
			threshold(
				'Max Age of Newest Full (Hours)',
				'maxFullAgeHours',
				DEFAULT_THRESHOLDS.maxAgeHours.full,
				'Critical when the newest good full backup of an engine is older than this (no good backup arrived in the window). 0: not checked.',
			),
			threshold(
				'Max Age of Newest Incremental (Hours)',
				'maxIncrementalAgeHours',
				0,
				'Critical when the newest good incremental is older than this. 0: not checked.',
			),
			threshold(
				'Max Age of Newest Log Backup (Hours)',
				'maxLogAgeHours',
				0,
				'Critical when the newest good SQL Server log backup is older than this. 0: not checked.',
			),
			threshold(
				'Max Age of Passed Restore Test (Days)',
				'maxRestoreTestAgeDays',
				DEFAULT_THRESHOLDS.maxRestoreTestAgeDays,
				'Warning when no restore test passed within this many days. 0: not checked.',
			),
			threshold(
				'Max Chain Length',
				'maxChainLength',
				0,
				'Warning when restoring the newest set needs more sets than this (full plus differentials, incrementals or logs). 0: not checked.',
			),
			threshold(
				'Max Restore Time (Minutes)',
				'maxRtoMinutes',
				0,
				'Warning when the newest passed restore test took longer than this. 0: not checked.',
			),
			threshold(
				'Restore Time Jump (%)',
				'rtoJumpPercent',
				DEFAULT_THRESHOLDS.rtoJumpPercent,
				'Warning when the newest restore test took this much longer than the median of the ones before (and at least a minute more). 0: not checked.',
			),
			threshold(
				'Size Jump (%)',
				'sizeJumpPercent',
				DEFAULT_THRESHOLDS.sizeJumpPercent,
				'A full this much smaller than the median of the ones before is critical (data may be missing), this much larger a warning. 0: not checked.',
			),
			threshold(
				'Trend Length',
				'trendLength',
				DEFAULT_THRESHOLDS.trendLength,
				'How many sets and restore tests the size and restore time trends look at',
			),
			threshold(
				'Unfinished Uploads Older Than (Hours)',
				'unfinishedAfterHours',
				DEFAULT_THRESHOLDS.unfinishedAfterHours,
				'Warning for an interrupted upload left unchanged for longer than this. 0: not checked.',
			),
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'HTML Binary Field',
				name: 'htmlBinaryProperty',
				type: 'string',
				default: 'report',
				description: 'For the HTML status page: name of the binary field that holds it',
			},
			{
				...languageOption,
				description: 'Language of the <code>summary</code>, of <code>reasons[].message</code> and of the status page',
			},
		],
	},
];

const CHOICES: DestinationChoice[] = ['local', 'sftp', 'ftp', 'googleDrive', 'googleDriveSignIn'];

/** The destinations of item i, each opened only when read (a missing credential is that destination's failure). */
function targetsOf(ctx: IExecuteFunctions, i: number): MonitorTarget[] {
	const chosen = (ctx.getNodeParameter('destinations', i, []) as DestinationChoice[]).filter((c) =>
		CHOICES.includes(c),
	);
	if (!chosen.length)
		throw new NodeOperationError(ctx.getNode(), 'No destination chosen', {
			itemIndex: i,
			description: 'Choose at least one destination under "Destinations".',
		});
	const targets: MonitorTarget[] = [];
	for (const choice of chosen) {
		if (choice === 'local') {
			const folders = splitList(ctx.getNodeParameter('localFolders', i, ''));
			if (!folders.length)
				throw new NodeOperationError(ctx.getNode(), 'No folder path given for Local / Network Folders', {
					itemIndex: i,
					description: 'Enter the absolute path of each folder under "Folder Paths", or remove that destination.',
				});
			for (const folder of folders)
				targets.push({ label: folder, open: () => openDestination({ type: 'local', folder }) });
			continue;
		}
		targets.push({
			label: choice,
			open: async () =>
				openDestination(CONFIG_FROM_CREDENTIAL[choice](await ctx.getCredentials(DESTINATION_CREDENTIAL[choice], i))),
		});
	}
	return targets;
}

function thresholdsOf(ctx: IExecuteFunctions, i: number): MonitorInput['thresholds'] {
	const given = (ctx.getNodeParameter('thresholds', i, {}) ?? {}) as Record<string, number | undefined>;
	return {
		maxAgeHours: {
			full: given.maxFullAgeHours,
			differential: given.maxDifferentialAgeHours,
			incremental: given.maxIncrementalAgeHours,
			log: given.maxLogAgeHours,
		},
		maxRestoreTestAgeDays: given.maxRestoreTestAgeDays,
		minCopies: ctx.getNodeParameter('minCopies', i, 0) as number,
		trendLength: given.trendLength,
		sizeJumpPercent: given.sizeJumpPercent,
		rtoJumpPercent: given.rtoJumpPercent,
		maxRtoMinutes: given.maxRtoMinutes,
		maxChainLength: given.maxChainLength,
		unfinishedAfterHours: given.unfinishedAfterHours,
	} as MonitorInput['thresholds'];
}

/** One environment as an item: what an IF node tests (`status`), what Slack shows (`summary`), and every figure. */
export function environmentItem(result: EnvironmentResult, language: MonitorLanguage): IDataObject {
	return {
		environment: result.environment,
		status: result.status,
		summary: monitorSummary(result, language),
		reasons: result.reasons.map((r) => ({
			code: r.code,
			severity: r.severity,
			message: reasonText(r, language),
			en: r.en,
			ptBR: r.ptBR,
			...(r.destination ? { destination: r.destination } : {}),
			...(r.engine ? { engine: r.engine } : {}),
			...(r.type ? { type: r.type } : {}),
		})),
		figures: result.figures as unknown as IDataObject,
		checkedAt: result.checkedAt,
	};
}

const worstOf = (results: EnvironmentResult[]): MonitorStatus =>
	results.some((r) => r.status === 'critical')
		? 'critical'
		: results.some((r) => r.status === 'warning')
			? 'warning'
			: 'ok';

/** Reads the destinations (read-only) and reports, as the Output parameter asks. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: MonitorRun,
): Promise<SeparateItem[]> {
	const language = summaryLanguage(this)(i) as MonitorLanguage;
	const output = this.getNodeParameter('output', i, 'items') as 'items' | 'prometheus' | 'html';
	const { results } = await runMonitor(targetsOf(this, i), {
		environments: splitList(this.getNodeParameter('environments', i, '')),
		thresholds: thresholdsOf(this, i),
		logger: this.logger,
	});
	if (output === 'items') return results.map((r) => new SeparateItem(environmentItem(r, language)));

	const status = worstOf(results);
	const overview = {
		status,
		summary: results.map((r) => monitorSummary(r, language)).join('\n'),
		environments: results.map((r) => ({ environment: r.environment, status: r.status })),
		checkedAt: results[0]?.checkedAt ?? new Date().toISOString(),
	};
	if (output === 'prometheus')
		return [
			new SeparateItem({ ...overview, metrics: renderPrometheus(results), contentType: PROMETHEUS_CONTENT_TYPE }),
		];

	const page = renderStatusPage(results, language, new Date(overview.checkedAt));
	const day = overview.checkedAt.slice(0, 10);
	run.pages.set(
		i,
		await this.helpers.prepareBinaryData(Buffer.from(page, 'utf8'), `totvs-backup-status-${day}.html`, 'text/html'),
	);
	return [new SeparateItem({ ...overview, title: `${statusText(status, language)}: TOTVS ${day}` })];
}

/** A failed run (no destination chosen, a bad expression): the fields of an environment item, with nothing known. */
export function failed(this: IExecuteFunctions, i: number): IDataObject {
	const output = this.getNodeParameter('output', i, 'items') as string;
	return {
		environment: null,
		reasons: [],
		figures: null,
		...(output === 'prometheus' ? { metrics: '', contentType: PROMETHEUS_CONTENT_TYPE } : {}),
		environments: [],
		checkedAt: new Date().toISOString(),
	};
}
