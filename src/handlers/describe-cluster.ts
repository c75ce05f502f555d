// DescribeCluster (key 60), versions 0–1.
// Kafka 3.9's broker listener (KafkaApis.handleDescribeCluster → AuthHelper.computeDescribeClusterResponse):
// - The cluster id, the one broker (this one, at the host and port advertised for the listener the request came
//   through, rack null) and, as controller id, this node: a KRaft broker reports a random alive broker there, and
//   the only one is this broker, which is also the controller.
// - ClusterAuthorizedOperations: when asked, the CLUSTER operations the principal may do (every one, 8096, without an
//   authorizer), or 0 when it may not DESCRIBE the cluster; otherwise -2147483648. Kafka answers the rest without an
//   authorization check (AuthHelper.computeDescribeClusterResponse).
// - EndpointType (v1, KIP-919): this listener is a BROKER endpoint. A request for CONTROLLER (2) answers
//   MISMATCHED_ENDPOINT_TYPE "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type
//   CONTROLLER"; any other value than 1 or 2, UNSUPPORTED_ENDPOINT_TYPE "Unsupported endpoint type N" (v0 requests
//   cannot carry one; Kafka answers INVALID_REQUEST there). Such answers carry no brokers and controller id -1.
// - The response's EndpointType (v1) is BROKER (1).
// - Version notes: v0 is KIP-700 (the cluster view Admin.describeCluster reads without Metadata); v1 adds the
//   endpoint types (KIP-919).
import { ApiKey } from '../protocol/generated/index.js';
import { makeDescribeClusterResponse, type DescribeClusterRequest, type DescribeClusterResponse } from '../protocol/generated/describe-cluster.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { NO_AUTHORIZED_OPERATIONS } from './acl-operations.js';
import { AclOperation, ResourceType, authorizeCluster, authorizedOperations, CLUSTER_NAME } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import { controllerIdOf, reportedBrokers } from './cluster-view.js';

/** Kafka's EndpointType ids. */
const ENDPOINT_TYPE_BROKER = 1;
const ENDPOINT_TYPE_CONTROLLER = 2;

function endpointTypeError(apiVersion: number, errorCode: number, errorMessage: string): DescribeClusterResponse {
  const res = makeDescribeClusterResponse();
  res.errorCode = apiVersion === 0 ? ErrorCode.INVALID_REQUEST : errorCode;
  res.errorMessage = errorMessage;
  return res;
}

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, request) {
    const endpointType = request.endpointType ?? ENDPOINT_TYPE_BROKER;
    if (endpointType !== ENDPOINT_TYPE_BROKER && endpointType !== ENDPOINT_TYPE_CONTROLLER) {
      return endpointTypeError(ctx.apiVersion, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${endpointType}`);
    }
    if (endpointType === ENDPOINT_TYPE_CONTROLLER) {
      return endpointTypeError(
        ctx.apiVersion,
        ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
      );
    }
    const broker = ctx.broker;
    const res = makeDescribeClusterResponse();
    res.clusterId = broker.clusterId;
    res.controllerId = controllerIdOf(broker);
    res.brokers = reportedBrokers(ctx).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
    res.clusterAuthorizedOperations = !request.includeClusterAuthorizedOperations
      ? NO_AUTHORIZED_OPERATIONS
      : authorizeCluster(ctx, AclOperation.DESCRIBE)
        ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
        : 0;
    res.endpointType = ENDPOINT_TYPE_BROKER;
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeDescribeClusterResponse();
    res.errorCode = errorCode;
    return res;
  },
};
