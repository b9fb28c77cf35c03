/**
 * The Google Drive destination against the real Google Drive, when credentials are given:
 *   TOTVS_GDRIVE_FOLDER_ID       a folder (or shared drive) the credentials may write to, and either
 *   TOTVS_GDRIVE_SA_KEY_FILE     a service account JSON key file (+ TOTVS_GDRIVE_SUBJECT for
 *                                domain-wide delegation), or
 *   TOTVS_GDRIVE_CLIENT_ID, TOTVS_GDRIVE_CLIENT_SECRET, TOTVS_GDRIVE_REFRESH_TOKEN (OAuth2).
 * Without them it reports itself skipped (the emulator covers the protocol in the other tests).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GoogleDriveDestination, type GoogleDriveConfig } from '../../../core/destinations';

function liveConfig(): GoogleDriveConfig | string {
	const env = process.env;
	if (!env.TOTVS_GDRIVE_FOLDER_ID) return 'no TOTVS_GDRIVE_FOLDER_ID (and Google credentials) in the environment';
	if (env.TOTVS_GDRIVE_SA_KEY_FILE) {
		const key = JSON.parse(readFileSync(env.TOTVS_GDRIVE_SA_KEY_FILE, 'utf8')) as {
			client_email: string;
			private_key: string;
		};
		return {
			type: 'google-drive',
			rootFolderId: env.TOTVS_GDRIVE_FOLDER_ID,
			auth: {
				kind: 'serviceAccount',
				clientEmail: key.client_email,
				privateKey: key.private_key,
				subject: env.TOTVS_GDRIVE_SUBJECT,
			},
			chunkBytes: 256 * 1024,
		};
	}
	if (env.TOTVS_GDRIVE_CLIENT_ID && env.TOTVS_GDRIVE_CLIENT_SECRET && env.TOTVS_GDRIVE_REFRESH_TOKEN) {
		return {
			type: 'google-drive',
			rootFolderId: env.TOTVS_GDRIVE_FOLDER_ID,
			auth: {
				kind: 'oauth2',
				clientId: env.TOTVS_GDRIVE_CLIENT_ID,
				clientSecret: env.TOTVS_GDRIVE_CLIENT_SECRET,
				refreshToken: env.TOTVS_GDRIVE_REFRESH_TOKEN,
			},
			chunkBytes: 256 * 1024,
		};
	}
	return 'TOTVS_GDRIVE_FOLDER_ID is set but neither TOTVS_GDRIVE_SA_KEY_FILE nor the TOTVS_GDRIVE_CLIENT_ID / _CLIENT_SECRET / _REFRESH_TOKEN trio';
}

const config = liveConfig();
const live = typeof config === 'string' ? it.skip : it;

describe('Google Drive (live)', () => {
	live(
		typeof config === 'string'
			? `skipped: ${config}`
			: 'uploads in resumable chunks, verifies by checksum, lists, downloads and deletes',
		async () => {
			const destination = new GoogleDriveDestination(config as GoogleDriveConfig);
			const scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-drive-live-'));
			const folder = `totvs-live-test-${Date.now()}-${randomBytes(3).toString('hex')}`;
			try {
				const data = randomBytes(700 * 1024 + 5);
				const file = path.join(scratch, 'artifact.bin');
				writeFileSync(file, data);
				const put = await destination.put(file, `${folder}/set/artifact.bin`);
				expect(put).toMatchObject({ bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
				expect(['sha256', 'md5']).toContain(put.verifiedBy);
				expect((await destination.list(`${folder}/set`)).map((entry) => entry.name)).toEqual(['artifact.bin']);
				const got = await destination.get(`${folder}/set/artifact.bin`, path.join(scratch, 'back.bin'));
				expect(got.sha256).toBe(put.sha256);
			} finally {
				await destination.removeFolder(folder).catch(() => undefined);
				rmSync(scratch, { recursive: true, force: true });
			}
		},
	);
});
