/** Type names of this package's nodes inside n8n: `<package name>.<node name>` (community package route). */
import { PACKAGE_NAME } from '../../support/n8n-env';

export const DUMP_TYPE = `${PACKAGE_NAME}.totvsDump`;
export const VERIFY_TYPE = `${PACKAGE_NAME}.totvsVerify`;
export const UPLOAD_TYPE = `${PACKAGE_NAME}.totvsUpload`;
export const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
