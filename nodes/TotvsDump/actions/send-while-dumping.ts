import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { BackupResult } from '../../../core/backup';
import { isPartialName, openDestination } from '../../../core/destinations';
import { uploadWhileWriting } from '../../../core/pipeline/upload-while-writing';
import { remoteSetFolder } from '../../../core/upload/remote-catalog';
import { destinationConfigOf, executionLock } from '../../shared/destination-credentials';
import { waitForLockProperty } from '../../shared/destination-parameters';

/**
 * "Send While Dumping" (PostgreSQL source, sealed): each artifact goes to the SFTP destination
 * under its partial name while pg_dump writes it (core/pipeline/upload-while-writing.ts). Only a
 * sealed custom-format dump can be sent as it is written (a plain -Fc file is rewritten by
 * pg_dump at its end), hence shown with Encrypt and Sign only. Nothing gets a final name here:
 * TOTVS Verify, then TOTVS Upload to the same SFTP destination, prove each partial by SHA-256 and
 * rename it. The SFTP credential is declared in the node (shown for this switch: credentials'
 * conditions can only name top-level parameters).
 */
const shownFor = { source: ['postgres'], encryptAndSign: [true] };
const whenOn = { show: { ...shownFor, sendWhileDumping: [true] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Send While Dumping',
		name: 'sendWhileDumping',
		type: 'boolean',
		default: false,
		displayOptions: { show: shownFor },
		description:
			'Whether to send the sealed dump to an SFTP server while pg_dump writes it, under temporary (partial) names, so the later TOTVS Upload to that server only proves and renames it. Needs Verify With Remote SHA-256 on in the SFTP credential (else nothing is sent early). See docs/sealing.md.',
	},
	{
		displayName:
			'The set is complete on the SFTP server only after TOTVS Verify and then TOTVS Upload to the same SFTP credential (same folder): they prove each partial file by SHA-256 and give it its name. An Upload to another destination simply sends everything; TOTVS Upload Prune later removes the unfinished folder left here.',
		name: 'sendWhileDumpingNotice',
		type: 'notice',
		default: '',
		displayOptions: whenOn,
	},
	waitForLockProperty(whenOn),
];

/** What was sent while dumping, as the Dump item reports it: on the server under partial names. */
export interface EarlySend {
	destination: string;
	/** The set's folder on the destination, relative to the credential's folder. */
	remotePath: string;
	/** Artifacts on the server under their partial names after the dump. */
	files: number;
	bytes: number;
}

/** Runs `write` (the dump of item i), sending while it writes when the switch is on. */
export async function sendingWhileDumping(
	ctx: IExecuteFunctions,
	i: number,
	environment: string,
	write: () => Promise<BackupResult>,
): Promise<{ result: BackupResult; earlySend?: EarlySend }> {
	if (ctx.getNodeParameter('sendWhileDumping', i, false) !== true) return { result: await write() };
	const config = await destinationConfigOf(ctx, 'sftp', i);
	const destination = openDestination(config);
	const lockVia = openDestination(config);
	try {
		const lock = executionLock(ctx, Number(ctx.getNodeParameter('waitForLockSeconds', i, 60)), lockVia);
		const signal = ctx.getExecutionCancelSignal?.();
		const result = await uploadWhileWriting(destination, { environment, lock, logger: ctx.logger, signal }, write);
		const remotePath = remoteSetFolder(result.manifest.environment, result.manifest.backupId);
		const partials = (await destination.list(remotePath).catch(() => [])).filter(
			(entry) => !entry.isFolder && isPartialName(entry.name),
		);
		const earlySend: EarlySend = {
			destination: destination.describe(),
			remotePath,
			files: partials.length,
			bytes: partials.reduce((sum, entry) => sum + entry.size, 0),
		};
		ctx.logger.info(
			`Sent ${earlySend.files} of ${result.manifest.artifacts.length} artifacts of ${result.manifest.backupId} (${earlySend.bytes} bytes) to ${earlySend.destination} while dumping, under partial names; TOTVS Verify and TOTVS Upload to the same destination complete the set`,
		);
		return { result, earlySend };
	} finally {
		await Promise.all([destination.close(), lockVia.close()].map((closing) => closing.catch(() => undefined)));
	}
}
