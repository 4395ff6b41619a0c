// pandascreen case: Raspberry Pi 4 Model B + Pimoroni Inky Impression 7.3" (800x480, 7 colours) + two buttons.
// Board: boards/pi-4-inky-impression-7.toml. Render: openscad -o case.stl pi-4-inky-impression-7.scad
// The case is sized to the larger of the Pi and the screen module; the Pi sits centred under it.
use <lib/case.scad>

// Tray and lid are each ~185x131 mm: too big for one print bed side by side. Print them one by
// one: openscad -D 'part="tray"' ... and -D 'part="lid"' ... ("both" lays them side by side).
part = "tray";

// ---- print parameters --------------------------------------------------------------------
wall = 2.2;           // side wall thickness
clearance = 1.0;      // gap between PCB and inner wall on every side
floor_t = 2.0;        // floor thickness
lid_t = 2.0;          // lid plate thickness
lip_h = 3.0;          // locating lip under the lid
fit = 0.25;           // lip clearance inside the tray
corner_r = 4.0;       // rounded vertical edges
gap = 8.0;            // distance between tray and lid on the print bed
standoff_h = 4.0;     // PCB height above the floor
inner_h = 24.0;       // floor to lid underside (USB/Ethernet jacks are ~16 mm tall)
button_d = 7.0;       // hole for a 6x6 mm tactile switch cap
window_margin = 0.5;  // extra window around the visible screen area

// ---- board outline (keep in sync with the board TOML [outline]) ------------------------------
pcb = [85, 56];
pcb_t = 1.4;
holes = [[3.5, 3.5], [61.5, 3.5], [3.5, 52.5], [61.5, 52.5]];
hole_d = 2.75;
screen_module = [178.5, 124.5];  // the Impression covers the Pi (it sits on the GPIO header)
screen_active = [160, 96];

// ---- layout ------------------------------------------------------------------------------
inner = [max(pcb[0], screen_module[0]) + 2 * clearance, max(pcb[1], screen_module[1]) + 2 * clearance];
pcb_pos = [(inner[0] - pcb[0]) / 2, (inner[1] - pcb[1]) / 2];
screen_pos = [(inner[0] - screen_module[0]) / 2, (inner[1] - screen_module[1]) / 2];
active_offset = [(screen_module[0] - screen_active[0]) / 2, (screen_module[1] - screen_active[1]) / 2];
// buttons in the lid below the panel's visible area, inside the frame
buttons = [[inner[0] / 2 - 40, screen_pos[1] + 5], [inner[0] / 2 + 40, screen_pos[1] + 5]];
pcb_top = standoff_h + pcb_t;
// [side, offset, z, width, height]: USB-C, 2x micro-HDMI, audio on the front;
// USB + Ethernet block on the right; micro-SD on the left (below the PCB)
ports = [[0, pcb_pos[0] + 11.2, pcb_top - 0.5, 10, 4.5],
         [0, pcb_pos[0] + 26.0, pcb_top - 0.5, 8, 4.5],
         [0, pcb_pos[0] + 39.5, pcb_top - 0.5, 8, 4.5],
         [0, pcb_pos[0] + 53.5, pcb_top - 0.5, 7, 7],
         [3, pcb_pos[1] + 28.0, pcb_top - 0.5, 54, 17],
         [2, pcb_pos[1] + 28.0, standoff_h - 2.5, 13, 3.5]];

outer = [inner[0] + 2 * wall, inner[1] + 2 * wall];
if (part == "both")
    pandascreen_case(inner, inner_h, wall, floor_t, lid_t, lip_h, fit, corner_r, gap,
                     pcb_pos, holes, hole_d, standoff_h, ports,
                     screen_pos, screen_module, screen_active, active_offset, window_margin,
                     buttons, button_d);
if (part == "tray")
    case_tray(inner, inner_h, wall, floor_t, corner_r, pcb_pos, holes, hole_d, standoff_h, ports);
if (part == "lid")
    translate([0, outer[1], lid_t]) rotate([180, 0, 0])
        case_lid_installed(inner, wall, lid_t, lip_h, fit, corner_r,
                           screen_pos, screen_module, screen_active, active_offset, window_margin,
                           buttons, button_d);
