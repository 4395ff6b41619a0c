// pandascreen enclosure library: a screw-together tray + lid for a board and a small screen.
//
// All sizes in millimetres. "inner" coordinates: origin at the inside lower-left corner of the
// tray, x to the right, y to the back, looking down on the closed case.
// The output lays the tray and the (upside-down) lid side by side, ready to print without supports.

$fn = 32;

// Rounded box with vertical edges of radius r.
module rbox(size, r) {
    rr = min(r, size[0] / 2 - 0.01, size[1] / 2 - 0.01);
    if (rr <= 0) {
        cube(size);
    } else {
        hull() {
            for (x = [rr, size[0] - rr], y = [rr, size[1] - rr])
                translate([x, y, 0]) cylinder(r = rr, h = size[2]);
        }
    }
}

// Tray: floor, four walls, standoffs under the PCB mounting holes, port cut-outs.
// ports: list of [side, offset, z, width, height]; side 0 = front (y = 0), 1 = back,
//        2 = left (x = 0), 3 = right; offset = centre along that side in inner coordinates;
//        z = bottom of the opening above the inside of the floor.
module case_tray(inner, inner_h, wall, floor_t, corner_r, pcb_pos, holes, hole_d, standoff_h, ports) {
    outer = [inner[0] + 2 * wall, inner[1] + 2 * wall];
    difference() {
        rbox([outer[0], outer[1], floor_t + inner_h], corner_r);
        translate([wall, wall, floor_t]) rbox([inner[0], inner[1], inner_h + 1], max(corner_r - wall, 0.5));
        for (p = ports) {
            side = p[0]; off = p[1]; z = p[2]; w = p[3]; h = p[4];
            if (side == 0) translate([wall + off - w / 2, -1, floor_t + z]) cube([w, wall + 2, h]);
            if (side == 1) translate([wall + off - w / 2, outer[1] - wall - 1, floor_t + z]) cube([w, wall + 2, h]);
            if (side == 2) translate([-1, wall + off - w / 2, floor_t + z]) cube([wall + 2, w, h]);
            if (side == 3) translate([outer[0] - wall - 1, wall + off - w / 2, floor_t + z]) cube([wall + 2, w, h]);
        }
    }
    // standoffs: pilot hole for self-tapping screws (90 % of the hole diameter)
    for (h = holes) {
        translate([wall + pcb_pos[0] + h[0], wall + pcb_pos[1] + h[1], floor_t - 0.01])
            difference() {
                cylinder(d = hole_d + 3.2, h = standoff_h);
                translate([0, 0, 0.8]) cylinder(d = hole_d * 0.9, h = standoff_h);
            }
    }
}

// Lid in its installed position: plate at z = [0, lid_t], locating lip below it (z < 0).
// screen_pos: lower-left corner of the screen module in inner coordinates;
// active_offset: lower-left corner of the visible area inside the module.
module case_lid_installed(inner, wall, lid_t, lip_h, fit, corner_r,
                          screen_pos, screen_module, screen_active, active_offset, window_margin,
                          buttons, button_d) {
    outer = [inner[0] + 2 * wall, inner[1] + 2 * wall];
    lip_w = 1.2;
    difference() {
        union() {
            rbox([outer[0], outer[1], lid_t], corner_r);
            // lip that slides into the tray
            translate([wall + fit, wall + fit, -lip_h])
                difference() {
                    cube([inner[0] - 2 * fit, inner[1] - 2 * fit, lip_h]);
                    translate([lip_w, lip_w, -1]) cube([inner[0] - 2 * fit - 2 * lip_w, inner[1] - 2 * fit - 2 * lip_w, lip_h + 2]);
                }
            // frame around the screen module so it sits centred under the window
            translate([wall + screen_pos[0] - 1.2, wall + screen_pos[1] - 1.2, -1.5])
                difference() {
                    cube([screen_module[0] + 2.4, screen_module[1] + 2.4, 1.5]);
                    translate([1.0, 1.0, -1]) cube([screen_module[0] + 0.4, screen_module[1] + 0.4, 4]);
                }
        }
        // screen window, with a 45 degree chamfer on the outside
        wx = wall + screen_pos[0] + active_offset[0] - window_margin;
        wy = wall + screen_pos[1] + active_offset[1] - window_margin;
        ww = screen_active[0] + 2 * window_margin;
        wh = screen_active[1] + 2 * window_margin;
        translate([wx, wy, -1]) cube([ww, wh, lid_t + 2]);
        hull() {
            translate([wx, wy, lid_t - 0.8]) cube([ww, wh, 0.01]);
            translate([wx - 1, wy - 1, lid_t + 0.2]) cube([ww + 2, wh + 2, 0.01]);
        }
        for (b = buttons)
            translate([wall + b[0], wall + b[1], -lip_h - 1]) cylinder(d = button_d, h = lid_t + lip_h + 2);
    }
}

// Everything, laid out for printing: tray at the origin, lid flipped next to it.
module pandascreen_case(inner, inner_h, wall, floor_t, lid_t, lip_h, fit, corner_r, gap,
                        pcb_pos, holes, hole_d, standoff_h, ports,
                        screen_pos, screen_module, screen_active, active_offset, window_margin,
                        buttons, button_d) {
    outer = [inner[0] + 2 * wall, inner[1] + 2 * wall];
    case_tray(inner, inner_h, wall, floor_t, corner_r, pcb_pos, holes, hole_d, standoff_h, ports);
    translate([outer[0] + gap, outer[1], lid_t]) rotate([180, 0, 0])
        case_lid_installed(inner, wall, lid_t, lip_h, fit, corner_r,
                           screen_pos, screen_module, screen_active, active_offset, window_margin,
                           buttons, button_d);
}
