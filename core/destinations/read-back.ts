/**
 * Read-back verification for any destination: download the remote file into a throwaway local
 * file and hash it. For callers that want proof beyond what a service reports (Verify on a
 * destination); `put(…, { readBack: true })` does the same inside the backends that lack a
 * remote hash.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Destination, TransferOptions } from './destination';

export async function readBackSha256(
	destination: Destination,
	remotePath: string,
	options: TransferOptions & { scratchFolder?: string } = {},
): Promise<{ bytes: number; sha256: string }> {
	const folder = await fsp.mkdtemp(path.join(options.scratchFolder ?? os.tmpdir(), 'totvs-read-back-'));
	try {
		const result = await destination.get(remotePath, path.join(folder, randomBytes(4).toString('hex')), options);
		return { bytes: result.bytes, sha256: result.sha256 };
	} finally {
		await fsp.rm(folder, { recursive: true, force: true });
	}
}
