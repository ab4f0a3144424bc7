package io.portcullis.daemon.config;

import java.util.List;

/** Traffic processing rules. */
public record RulesConfig(
    @Doc("access rules, in order; the first that matches decides") List<AccessRule> access,
    @Doc("named URL categories that rules refer to") List<Category> categories) {
}
