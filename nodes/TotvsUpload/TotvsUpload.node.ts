import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type { Destination, DestinationConfig } from '../../core/destinations';
import { currentOwner } from '../../core/locking/environment-lock';
import { openDestination } from '../../core/destinations';
import { listRemoteSets } from '../../core/upload/remote-catalog';
import { downloadSet, pruneSets, uploadSet, type LockSettings } from '../../core/upload/set-transfer';
import { backupItem } from '../shared/backup-item';
import { ItemFailure, forEachBackupItem } from '../shared/run-items';
import type { Language } from '../shared/summary';
import { verifySummary } from '../shared/summary';
import {
	destinationConfigOf,
	testFtpCredential,
	testGoogleDriveCredential,
	testSftpCredential,
	type DestinationChoice,
} from '../shared/destination-credentials';
import { uploadProperties } from './description';
import { downloadSummary, pruneSummary, uploadSummary } from './summaries';

export class TotvsUpload implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Upload',
		name: 'totvsUpload',
		icon: 'file:totvsUpload.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["destination"] }}',
		description:
			'Copy TOTVS backup sets off-site (SFTP, FTP/FTPS, Google Drive, network folder), verified; list, download and prune them',
		defaults: { name: 'TOTVS Upload' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [
			{
				name: 'totvsSftp',
				required: true,
				testedBy: 'totvsSftpConnectionTest',
				displayOptions: { show: { destination: ['sftp'] } },
			},
			{
				name: 'totvsFtp',
				required: true,
				testedBy: 'totvsFtpConnectionTest',
				displayOptions: { show: { destination: ['ftp'] } },
			},
			{
				name: 'totvsGoogleDriveApi',
				required: true,
				testedBy: 'totvsGoogleDriveConnectionTest',
				displayOptions: { show: { destination: ['googleDrive'] } },
			},
			// OAuth2: n8n tests it by the sign-in itself, so no testedBy
			{
				name: 'totvsGoogleDriveOAuth2Api',
				required: true,
				displayOptions: { show: { destination: ['googleDriveSignIn'] } },
			},
		],
		properties: uploadProperties,
	};

	methods = {
		credentialTest: {
			totvsSftpConnectionTest: testSftpCredential,
			totvsFtpConnectionTest: testFtpCredential,
			totvsGoogleDriveConnectionTest: testGoogleDriveCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as 'upload' | 'list' | 'download' | 'prune';
		const choice = this.getNodeParameter('destination', 0) as DestinationChoice;
		const language = (i: number) => this.getNodeParameter('options.language', i, 'en') as Language;
		const option = <T>(i: number, name: string, fallback: T) =>
			this.getNodeParameter(`options.${name}`, i, fallback) as T;
		const signal = this.getExecutionCancelSignal?.();

		// One connection per distinct destination for the whole run (a local folder may differ per item).
		const open = new Map<string, Destination>();
		let remoteConfig: DestinationConfig | undefined;
		const destinationFor = async (i: number, use: 'data' | 'lock' = 'data'): Promise<Destination> => {
			const config =
				choice === 'local'
					? await destinationConfigOf(this, choice, i)
					: (remoteConfig ??= await destinationConfigOf(this, choice, i));
			// The lock gets a connection of its own, so renewals never wait behind a long transfer.
			const key = `${choice === 'local' ? `local:${(config as { folder: string }).folder}` : choice}#${use}`;
			let destination = open.get(key);
			if (!destination) {
				destination = openDestination(config);
				open.set(key, destination);
			}
			return destination;
		};
		const lock = async (i: number): Promise<LockSettings> => ({
			owner: currentOwner(this.getExecutionId()),
			options: { waitMs: option(i, 'waitForLockSeconds', 60) * 1000 },
			via: await destinationFor(i, 'lock'),
		});
		const environmentOf = (i: number, required: boolean) => {
			const environment = String(this.getNodeParameter('environment', i, '') ?? '').trim();
			if (required && !environment)
				throw new NodeOperationError(this.getNode(), 'No environment given', {
					itemIndex: i,
					description: 'Set "Environment" to the environment name used in TOTVS Dump (for example "prod").',
				});
			return environment;
		};

		const listed = new Map<number, IDataObject[]>();
		try {
			const output = await forEachBackupItem(this, `TOTVS Upload (${operation})`, language, async (item, i) => {
				const destination = await destinationFor(i);
				switch (operation) {
					case 'upload': {
						const setFolder = String(this.getNodeParameter('setFolder', i, '') ?? '').trim();
						if (!setFolder)
							throw new NodeOperationError(this.getNode(), 'No backup set folder to upload', {
								itemIndex: i,
								description:
									'Connect TOTVS Dump (or Verify) before this node, or set "Backup Set Folder" to the folder that holds manifest.json.',
							});
						const result = await uploadSet(destination, setFolder, {
							lock: await lock(i),
							readBack: option(i, 'readBack', false),
							logger: this.logger,
							signal,
						});
						const previous = Array.isArray(item.json.uploads) ? (item.json.uploads as IDataObject[]) : [];
						const backupId = result.remotePath.split('/').pop()!;
						const summary = uploadSummary(backupId, result, language(i));
						this.logger.info(summary);
						return {
							uploads: [
								...previous,
								{
									destination: result.destination,
									remotePath: result.remotePath,
									bytes: result.bytes,
									verified: result.verified,
									durationMs: result.durationMs,
									verifiedBy: result.verifiedBy,
									alreadyThere: result.alreadyThere,
								},
							],
							status: 'ok',
							summary,
						};
					}
					case 'list': {
						const catalog = await listRemoteSets(destination, environmentOf(i, false) || undefined);
						const sets: IDataObject[] = catalog.sets.map((s) => ({
							backupId: s.backupId,
							environment: s.environment,
							component: s.manifest.component,
							engine: s.manifest.engine,
							type: s.manifest.type,
							baseBackupId: s.manifest.baseBackupId,
							parentBackupId: s.manifest.parentBackupId,
							startedAt: s.manifest.startedAt,
							finishedAt: s.manifest.finishedAt,
							totalBytes: s.bytes,
							remoteStatus: s.remoteStatus,
							...(s.problem ? { problem: s.problem } : {}),
							destination: destination.describe(),
							remotePath: s.folder,
						}));
						if (option(i, 'includeUnfinished', false))
							sets.push(
								...catalog.unfinished.map((u) => ({
									backupId: u.backupId,
									environment: u.environment,
									remoteStatus: 'unfinished',
									modifiedAt: u.modifiedAt.toISOString(),
									totalBytes: u.bytes,
									destination: destination.describe(),
									remotePath: u.folder,
								})),
							);
						listed.set(i, sets);
						return {};
					}
					case 'download': {
						const result = await downloadSet(destination, {
							environment: environmentOf(i, true),
							backupId: String(this.getNodeParameter('backupId', i, 'latest') ?? 'latest'),
							stagingFolder: String(this.getNodeParameter('stagingFolder', i, '') ?? ''),
							verify: { pgClientFolder: option(i, 'pgClientFolder', '') },
							logger: this.logger,
							signal,
						});
						const json = backupItem(result, '');
						const ok = result.verification.ok;
						json.summary = downloadSummary(json.backupId, destination.describe(), result.bytes, ok, language(i));
						const section = {
							...json,
							verification: { ...result.verification },
							download: {
								destination: destination.describe(),
								remotePath: `${json.environment}/${json.backupId}`,
								bytes: result.downloadedBytes,
								durationMs: result.durationMs,
							},
						};
						if (!ok)
							return new ItemFailure(
								`Backup set ${json.backupId} downloaded from ${destination.describe()} failed verification: ${verifySummary(json.backupId, result.verification.checks, 'en')}`,
								'The copy on the destination is damaged (or was changed). Do not rely on it: download another set, and upload a good one again.',
								section,
							);
						return section;
					}
					case 'prune': {
						const environment = environmentOf(i, true);
						const result = await pruneSets(destination, {
							environment,
							dryRun: this.getNodeParameter('dryRun', i, true) as boolean,
							policy: {
								keepLast: this.getNodeParameter('keepLast', i, 0) as number,
								keepDaily: this.getNodeParameter('keepDaily', i, 0) as number,
								keepWeekly: this.getNodeParameter('keepWeekly', i, 0) as number,
								keepMonthly: this.getNodeParameter('keepMonthly', i, 0) as number,
								keepYearly: this.getNodeParameter('keepYearly', i, 0) as number,
								minimumAgeDays: this.getNodeParameter('minimumAgeDays', i, 0) as number,
								unfinishedAfterHours: option(i, 'unfinishedAfterHours', 24),
								timeZone: option(i, 'timeZone', '') || this.getTimezone(),
							},
							lock: await lock(i),
							logger: this.logger,
						});
						const summary = pruneSummary(environment, destination.describe(), result, language(i));
						this.logger.info(summary);
						const all = [
							...result.plan.sets.map((d) => ({
								backupId: d.backupId,
								type: d.type,
								startedAt: d.startedAt,
								bytes: d.bytes,
								action: d.action,
								rules: d.reasons.map((r) => r.rule),
								reasons: d.reasons.map((r) => r.text),
							})),
							...result.plan.unfinished.map((u) => ({
								backupId: u.backupId,
								type: 'unfinished',
								startedAt: u.modifiedAt,
								bytes: u.bytes,
								action: u.action,
								rules: [u.reason.rule],
								reasons: [u.reason.text],
							})),
						];
						return {
							prune: {
								destination: destination.describe(),
								environment,
								dryRun: result.dryRun,
								deleteCount: result.plan.deleteCount,
								deleteBytes: result.plan.deleteBytes,
								keepCount: result.plan.keepCount,
								deleted: result.deleted,
								toDelete: all.filter((d) => d.action === 'delete'),
								kept: all.filter((d) => d.action === 'keep'),
							},
							status: 'ok',
							summary,
						};
					}
				}
			});
			if (operation !== 'list') return output;
			// List: one item per set found, paired with the item that asked.
			return [
				output[0].flatMap((out) => {
					const index = (out.pairedItem as { item: number }).item;
					const sets = out.json.status === 'failed' ? undefined : listed.get(index);
					return sets ? sets.map((json) => ({ json: { ...json, status: 'ok' }, pairedItem: { item: index } })) : [out];
				}),
			];
		} finally {
			await Promise.all([...open.values()].map((d) => d.close().catch(() => undefined)));
		}
	}
}
