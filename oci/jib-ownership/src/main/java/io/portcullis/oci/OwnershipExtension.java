package io.portcullis.oci;

import com.google.cloud.tools.jib.api.buildplan.ContainerBuildPlan;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import com.google.cloud.tools.jib.api.buildplan.LayerObject;
import com.google.cloud.tools.jib.maven.extension.JibMavenPluginExtension;
import com.google.cloud.tools.jib.maven.extension.MavenData;
import com.google.cloud.tools.jib.plugins.extension.ExtensionLogger;
import com.google.cloud.tools.jib.plugins.extension.JibPluginExtensionException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Sets the owner ({@code owner}, "uid:gid") of the image's entries at or under {@code paths} (comma-separated absolute
 * paths), so that a non-root image user can write its config and state: Jib itself makes every entry root's. With
 * {@code keepLayers} (comma-separated layer names, e.g. "extra files"), drops every other layer: the image then holds
 * only what the build put there itself, not the module's own (empty) jar and classpath files.
 */
public final class OwnershipExtension implements JibMavenPluginExtension<Void> {

  @Override
  public Optional<Class<Void>> getExtraConfigType() {
    return Optional.empty();
  }

  @Override
  public ContainerBuildPlan extendContainerBuildPlan(ContainerBuildPlan plan, Map<String, String> properties,
      Optional<Void> extra, MavenData maven, ExtensionLogger log) throws JibPluginExtensionException {
    String owner = properties.get("owner");
    String paths = properties.get("paths");
    if (owner == null || !owner.matches("\\d+(:\\d+)?") || paths == null || paths.isBlank()) {
      throw new JibPluginExtensionException(OwnershipExtension.class,
          "needs the properties owner (uid:gid) and paths (comma-separated absolute paths)");
    }
    List<String> roots = Arrays.stream(paths.split(",")).map(String::strip).toList();
    List<String> keep = properties.containsKey("keepLayers")
        ? Arrays.stream(properties.get("keepLayers").split(",")).map(String::strip).toList() : null;
    List<LayerObject> layers = new ArrayList<>();
    int changed = 0;
    for (LayerObject layer : plan.getLayers()) {
      if (keep != null && !keep.contains(layer.getName())) {
        log.log(ExtensionLogger.LogLevel.LIFECYCLE, "layer dropped: \"" + layer.getName() + '"');
        continue;
      }
      if (!(layer instanceof FileEntriesLayer files)) {
        layers.add(layer);
        continue;
      }
      List<FileEntry> entries = new ArrayList<>();
      for (FileEntry e : files.getEntries()) {
        String p = e.getExtractionPath().toString();
        if (roots.stream().anyMatch(r -> p.equals(r) || p.startsWith(r + "/"))) {
          e = new FileEntry(e.getSourceFile(), e.getExtractionPath(), e.getPermissions(), e.getModificationTime(),
              owner);
          changed++;
        }
        entries.add(e);
      }
      layers.add(files.toBuilder().setEntries(entries).build());
    }
    log.log(ExtensionLogger.LogLevel.LIFECYCLE, "ownership " + owner + " on " + changed + " entries under " + roots);
    return plan.toBuilder().setLayers(layers).build();
  }
}
