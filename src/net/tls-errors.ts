/**
 * Which runtime errors are TLS failures, so that every adapter reports them under one code
 * (`ERR_IPC_TLS`) with the runtime's reason in the message.
 *
 * @module
 */

/**
 * OpenSSL's and Node's certificate and handshake error codes (`CERT_HAS_EXPIRED`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`,
 * `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, …), as Node and Bun report them.
 */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|INVALID_CA|INVALID_PURPOSE)/;

/** Whether an error code names a TLS failure rather than a network one. */
export function isTlsErrorCode(code: string): boolean {
  return TLS_CODE.test(code);
}
