// Counters the server keeps for the broker's stats() (and, later, its metrics). Plain numbers mutated in place by
// the listener and its connections; names follow Kafka's socket-server metrics where one exists.
export interface ServerCounters {
  /** Connections closed at once because `max.connections` were open (Kafka blocks its acceptor instead). */
  connectionsRefusedMaxConnections: number;
  /** Connections closed at once because their address had `max.connections.per.ip` (or its override) open. */
  connectionsRefusedPerIp: number;
  /**
   * Client connections closed, least recently active first, because more than `max.connections` were open: an
   * inter-broker connection (exempt, KIP-402) or a lowered limit took the broker past it (Kafka's
   * Processor.closeExcessConnections).
   */
  connectionsClosedOverMaxConnections: number;
  /** Accept failures the listener reported (EMFILE, ENFILE …), each followed by a pause in accepting. */
  acceptErrors: number;
  /** Times the process was found at its open-file limit (new connections are then dropped below Node). */
  openFileLimitReached: number;
  /** Connections closed because a request frame was not received within `socket.request.read.timeout.ms`. */
  requestReadTimeouts: number;
  /** TLS handshakes that failed (a plaintext client on a TLS port, an unsigned client certificate …): closed. */
  tlsHandshakeFailures: number;
  /** SASL authentications that completed / failed (Kafka: successful-authentication-total, failed-…). */
  successfulAuthentications: number;
  failedAuthentications: number;
  /** KIP-368 re-authentications that completed / failed (Kafka: successful-reauthentication-total, failed-…). */
  successfulReauthentications: number;
  failedReauthentications: number;
  /** Connections closed because a request came after their SASL session expired (Kafka: expired-connections-killed-count). */
  expiredConnectionsKilled: number;
}

export function makeServerCounters(): ServerCounters {
  return {
    connectionsRefusedMaxConnections: 0,
    connectionsClosedOverMaxConnections: 0,
    connectionsRefusedPerIp: 0,
    acceptErrors: 0,
    openFileLimitReached: 0,
    requestReadTimeouts: 0,
    tlsHandshakeFailures: 0,
    successfulAuthentications: 0,
    failedAuthentications: 0,
    successfulReauthentications: 0,
    failedReauthentications: 0,
    expiredConnectionsKilled: 0,
  };
}
