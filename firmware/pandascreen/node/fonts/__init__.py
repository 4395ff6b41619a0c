"""Fonts shipped as package data for large screens (see ``pandascreen.node.ttf``).

DejaVuSans-Bold.ttf comes from Debian's fonts-dejavu-core 2.37 (Bitstream Vera licence plus
DejaVu's public-domain changes); its licence file, DejaVuSans-Bold.LICENSE.txt, sits beside it.
Bold because thin strokes vanish on e-paper and from three metres away.
"""
import os

DIR = os.path.dirname(os.path.abspath(__file__))
BOLD = os.path.join(DIR, "DejaVuSans-Bold.ttf")
