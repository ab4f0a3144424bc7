package io.portcullis.daemon.rules;

/**
 * What the rules may look at in one request: the method, the full URL, the host (lower case, no port), the client's
 * address (textual, may be null) and the user (may be null).
 */
public record RequestFacts(String method, String url, String host, String clientIp, String user) {
}
