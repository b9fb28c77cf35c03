/**
 * The safe upload, once for every backend: write under the partial name, send, check the
 * remote copy, restart a resume that began from the wrong bytes, read back where the rule below
 * asks, compare with the SHA-256 the caller recorded, and only then rename to the final name.
 *
 * The rules, the same on every backend:
 * - Resume (append to what an interrupted attempt left) only when the result will be proven
 *   by a hash of the whole remote copy: the service offers one, or a read-back will be made.
 *   If that proof then fails, the resumed prefix was not ours: the partial is deleted and the
 *   file sent again from byte 0, once.
 * - Read back when the strongest check available was the size alone and read-back is asked
 *   (by the caller, or by the backend: the local folder). A remote SHA-256 or MD5 is proof
 *   enough; reading back over it would only cost a download.
 * - A partial whose bytes failed a check is deleted; a partial left by a cut or a cancel is
 *   kept for the next attempt to resume.
 */
import { promises as fsp } from 'node:fs';
import { BackupError, systemErrorCode } from '../errors';
import { normalizeRemotePath, type PutOptions, type PutResult, type RemoteFileInfo } from './destination';
import type { PartialUpload, TransferDriver } from './driver';
import { checkRemoteCopy } from './verification';

export async function verifiedPut(
	driver: TransferDriver,
	localFile: string,
	remotePath: string,
	options: PutOptions = {},
): Promise<PutResult> {
	const started = Date.now();
	const rel = normalizeRemotePath(remotePath);
	const where = `${driver.describe()}/${rel}`;
	const localSize = await localFileSize(localFile);
	try {
		const partial = await driver.beginPut(rel, localFile, localSize);
		const readBack = options.readBack === true || driver.readBackByDefault;
		const provable = readBack || driver.offersRemoteHash();
		const offset = provable && partial.resumable > 0 && partial.resumable <= localSize ? partial.resumable : 0;
		let copy: CheckedCopy;
		try {
			copy = await sendAndCheck(partial, offset, readBack, where, options);
		} catch (error) {
			if (!isMismatch(error)) throw error;
			await partial.discard().catch(() => undefined);
			if (offset === 0) throw error;
			// The resumed prefix was not what we sent: start over once, from byte 0.
			copy = await sendAndCheck(partial, 0, readBack, where, options).catch(async (retryError: unknown) => {
				if (isMismatch(retryError)) await partial.discard().catch(() => undefined);
				throw retryError;
			});
		}
		if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== copy.sha256) {
			await partial.discard().catch(() => undefined);
			throw new BackupError(
				'VERIFY_FAILED',
				`Local file ${localFile} has SHA-256 ${copy.sha256}, expected ${options.expectedSha256}`,
				'The staged file changed after it was made; run Verify on the set.',
			);
		}
		const final = await partial.commit();
		return {
			remotePath: rel,
			bytes: copy.bytes,
			sha256: copy.sha256,
			verifiedBy: copy.verifiedBy,
			remote: { ...copy.remote, ...(final?.modifiedAt ? { modifiedAt: final.modifiedAt } : {}) },
			resumedFrom: copy.resumedFrom,
			durationMs: Date.now() - started,
		};
	} catch (error) {
		throw await driver.toBackupError(error, 'upload', rel);
	}
}

interface CheckedCopy {
	bytes: number;
	sha256: string;
	remote: RemoteFileInfo;
	verifiedBy: PutResult['verifiedBy'];
	resumedFrom: number;
}

/** One send and its proof: size and remote hash, then a read-back where the rule asks for one. */
async function sendAndCheck(
	partial: PartialUpload,
	offset: number,
	readBack: boolean,
	where: string,
	options: PutOptions,
): Promise<CheckedCopy> {
	const sent = await partial.send(offset, options);
	const remote = await partial.stat();
	let verifiedBy = checkRemoteCopy(sent.digest, remote, where);
	if (verifiedBy === 'size' && readBack) {
		remote.sha256 = await partial.readBack(options);
		checkRemoteCopy(sent.digest, remote, where);
		verifiedBy = 'read-back';
	}
	return { bytes: sent.digest.bytes, sha256: sent.digest.sha256, remote, verifiedBy, resumedFrom: sent.from };
}

/** The size of the file to upload; a clear error when it cannot be read. */
async function localFileSize(localFile: string): Promise<number> {
	try {
		return (await fsp.stat(localFile)).size;
	} catch (error) {
		throw new BackupError(
			systemErrorCode(error) === 'ENOENT' ? 'SET_NOT_FOUND' : 'TRANSFER_FAILED',
			`Cannot read the local file ${localFile} to upload it: ${(error as Error).message}`,
			'Check that the staged backup set is still complete (run Verify on it), then upload again.',
			{ cause: error },
		);
	}
}

function isMismatch(error: unknown): boolean {
	return error instanceof BackupError && error.code === 'VERIFY_FAILED';
}
