package io.portcullis.daemon.pages;

/** The proxy's own error pages (400, 403, 502, 503, 504): short HTML, every echoed value escaped. */
public final class ErrorPage {
  private ErrorPage() {
  }

  public static String render(int status, String title, String detail, String node) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + status + " "
        + BlockPage.escape(title) + "</title></head>\n<body style=\"font-family:system-ui,sans-serif;margin:3em\">"
        + "<h1>" + BlockPage.escape(title) + "</h1>\n<p>" + BlockPage.escape(detail) + "</p>\n"
        + "<p style=\"color:#777;font-size:.8em\">Portcullis on " + BlockPage.escape(node) + " &middot; " + status
        + "</p></body></html>\n";
  }
}
