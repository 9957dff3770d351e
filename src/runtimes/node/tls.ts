import type { TLSSocket } from "node:tls";
import type { PeerCertificate, TlsInfo, TlsSettings } from "../../transport/contract.ts";

/**
 * `node:tls` options for our TLS settings, for a server or (with `client`) a client. Used by
 * every adapter that runs TLS on `node:tls`. Host names go out as SNI; an IP address is checked
 * against the certificate's IP entries but never sent as SNI, which TLS does not allow.
 *
 * A client negotiates at most TLS 1.2. There the server accepts or refuses a client certificate
 * within the handshake, so a refusal fails the connect (under TLS 1.3 the server decides after the
 * client's handshake has finished); and the server sends nothing after the handshake, whereas a
 * TLS 1.3 server's session tickets, left unread by a client that then exits, make its kernel reset
 * the connection, which can cost the server the client's last messages.
 */
export function nodeTlsOptions(settings: TlsSettings, client?: { readonly host: string; readonly isIp: boolean }) {
  const servername = settings.servername ?? (client !== undefined && !client.isIp ? client.host : undefined);
  return {
    ...(settings.cert !== undefined && { cert: settings.cert }),
    ...(settings.key !== undefined && { key: settings.key }),
    ...(settings.ca !== undefined && { ca: [...settings.ca] }),
    ...(servername !== undefined && { servername }),
    ...(client !== undefined && { maxVersion: "TLSv1.2" as const }),
    rejectUnauthorized: settings.rejectUnauthorized,
  };
}

/** What a `node:tls` socket's handshake established. */
export function tlsInfoOf(socket: TLSSocket): TlsInfo {
  const error = socket.authorizationError as Error | string | null | undefined;
  const peerCertificate = certificateOf(socket.getPeerCertificate());
  return {
    // Deno calls a server's socket authorized when the client sent no certificate at all.
    authorized: socket.authorized === true && peerCertificate !== undefined,
    authorizationError: error ? String((error as { code?: string }).code ?? error) : undefined,
    protocol: socket.getProtocol() ?? undefined,
    peerCertificate,
  };
}

function certificateOf(certificate: ReturnType<TLSSocket["getPeerCertificate"]>): PeerCertificate | undefined {
  // An empty object means the peer sent none.
  if (certificate === null || certificate === undefined || !certificate.fingerprint256) return undefined;
  const subject: Record<string, string> = {};
  for (const [name, value] of Object.entries(certificate.subject ?? {})) {
    subject[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return { subject, fingerprint256: certificate.fingerprint256, validTo: certificate.valid_to };
}
