// One client connection per other broker of the cluster, opened on demand and kept between requests (Kafka's
// inter-broker channels), for the brokers' own requests to each other: WriteTxnMarkers to partition leaders
// (txn/cluster-marker-writer.ts) and AddPartitionsToTxn to transaction coordinators (txn/remote-transaction-
// coordinator.ts). A connection whose broker moved (another host or port) is replaced; one that failed is dropped
// by its user (drop) and reopened at the next request. Users pass the endpoints of the inter-broker listener
// (ClusterState.interBrokerPeers) and the channel's security (inter-broker-security.ts), as the replica fetchers do.
import { Connection } from '../client/connection.js';
import type { ClientSecurity } from '../client/security.js';

export class BrokerConnections {
  /** brokerId → its connection (being opened or open). */
  private readonly connections = new Map<number, Promise<Connection>>();
  private closed = false;

  constructor(private readonly options: { clientId: string; requestTimeoutMs: number; what: string; security: ClientSecurity | undefined }) {}

  connection(brokerId: number, host: string, port: number): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error(`the ${this.options.what} is closed`));
    const existing = this.connections.get(brokerId);
    if (existing !== undefined) {
      return existing.then((conn) => {
        if (conn.isOpen && conn.host === host && conn.port === port) return conn;
        this.drop(brokerId);
        return this.connection(brokerId, host, port);
      });
    }
    const opening = Connection.connect({ host, port, clientId: this.options.clientId, requestTimeoutMs: this.options.requestTimeoutMs, security: this.options.security });
    this.connections.set(brokerId, opening);
    opening.catch(() => {
      if (this.connections.get(brokerId) === opening) this.connections.delete(brokerId);
    });
    return opening;
  }

  /** Forgets the broker's connection and closes it (after a failed request). */
  drop(brokerId: number): void {
    const conn = this.connections.get(brokerId);
    this.connections.delete(brokerId);
    void conn?.then((c) => c.close()).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    for (const brokerId of [...this.connections.keys()]) this.drop(brokerId);
  }
}
