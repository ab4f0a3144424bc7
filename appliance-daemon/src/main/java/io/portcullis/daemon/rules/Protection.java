package io.portcullis.daemon.rules;

import io.portcullis.daemon.pages.BlockPage;

/**
 * What the protection rules say about a body: scan it or not, the rule that said so (null: none matched, no scan),
 * whether an engine failure blocks, and the page for a threat.
 */
public record Protection(boolean scan, String rule, boolean blockOnError, BlockPage page) {
  public static final Protection NO_SCAN = new Protection(false, null, false, null);
}
