"""Where phones find the program page (node/program_page.py): a QR code of its address, with the
address written under it, in a strip on the right of a large screen (HDMI, Inky wHAT and
Impression), beside now/next or the overview.

WHY here and not in core/layout.py or core/overview.py: those run on satellite boards too,
which serve no page; the Pi draws the layout into the rest of the canvas and the strip beside
it.  The QR code is made by ``segno`` (a maintained pure-Python QR encoder) and drawn dark on
light with its own quiet zone, whatever the screen's colours, since phone cameras read a
light-on-dark code poorly.  A screen too small for a code a phone can read (modules under
2 px, or under 56 px in all) shows no strip.
"""

from PIL import ImageDraw

QUIET = 2  # modules of light margin around the code (phones read 2 well; the strip adds more)
MIN_MODULE_PX = 2
MIN_CODE_PX = 56
PAD = 6  # px between the layout, the code and the screen's edge


def matrix(url):
    """The code's modules as rows of 0/1 (1 dark), without a quiet zone."""
    import segno
    code = segno.make(url, error="m", micro=False, boost_error=False)
    return [list(row) for row in code.matrix]


def address_text(url):
    """What the strip writes under the code: the address without ``http://`` and the last ``/``."""
    text = url.split("://", 1)[-1]
    return text[:-1] if text.endswith("/") else text


def geometry(url, width, height):
    """(module px, code px incl. quiet zone, strip width) for a ``width`` x ``height`` screen;
    None when the code would be too small to read there."""
    n = len(matrix(url)) + 2 * QUIET
    module = min(int(height * 0.5) // n, int(width * 0.22) // n)
    if module < MIN_MODULE_PX or module * n < MIN_CODE_PX:
        return None
    return module, module * n, module * n + 2 * PAD


def _luminance(image, value):
    if image.mode == "P":
        pal = image.getpalette()
        r, g, b = pal[3 * value:3 * value + 3]
    elif image.mode == "RGB":
        r, g, b = value
    else:
        r = g = b = value
    return 299 * r + 587 * g + 114 * b


def place(url, width, height, face=None):
    """(module px, code px, strip width, top of the code, caption font or None) on a ``width`` x
    ``height`` screen: the code and its caption centred in the strip; None when too small."""
    geo = geometry(url, width, height)
    if geo is None:
        return None
    module, size, strip = geo
    font, text_h = None, 0
    if face is not None:
        caption = address_text(url)
        for scale in (2, 1.5, 1.25, 1):
            if face.text_width(caption, scale) <= strip - PAD:
                font = face.font(scale)
                text_h = int(face.CELL_H * scale) + PAD
                break
    return module, size, strip, max(PAD, (height - size - text_h) // 2), font


def draw(image, url, x, colors, face=None):
    """Draw the code of ``url`` and its address in the strip starting at ``x`` of ``image``.

    ``colors``: the layout's (background, foreground) values on this image; the lighter one
    is the code's light, the other its dark."""
    width, height = image.size
    spot = place(url, width, height, face)
    if spot is None:
        return
    module, size, strip, top, font = spot
    bg, fg = colors[0], colors[1]
    light, dark = (bg, fg) if _luminance(image, bg) >= _luminance(image, fg) else (fg, bg)
    d = ImageDraw.Draw(image)
    left = x + PAD
    d.rectangle((left, top, left + size - 1, top + size - 1), fill=light)
    for r, row in enumerate(matrix(url)):
        for c, on in enumerate(row):
            if on:
                px = left + (QUIET + c) * module
                py = top + (QUIET + r) * module
                d.rectangle((px, py, px + module - 1, py + module - 1), fill=dark)
    if font is not None:
        if image.mode not in ("L", "RGB"):
            d.fontmode = "1"
        caption = address_text(url)
        tw = int(font.getlength(caption))
        d.text((x + max(0, (strip - tw) // 2), top + size + PAD // 2), caption, fill=fg, font=font, anchor="la")
